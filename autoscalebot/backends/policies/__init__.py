"""Decision backends beyond the seed's streak rule.

Baselines modelled on well-known autoscalers (each module names its source):
``hpa`` (Kubernetes HPA), ``step`` (AWS step scaling), ``judoscale``,
``heroku`` (Heroku's own autoscaling); and ``adaptive``, this project's
latency-only policy. ``queueing`` holds the M/M/k formulas they share with
the simulator. Select one with ``DECISION_BACKEND`` (a dotted path or alias).
"""

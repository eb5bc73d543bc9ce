"""Simulation and backtest: the real engine against a modelled app and a load trace.

``model`` (the app: dynos as M/M/k queues, boot delay, timeouts), ``traces``
(generated families, CSV, Heroku router logs), ``oracle`` (the cheapest
schedule that meets the target, and the static peak), ``metrics``,
``runner`` (the engine on a fake clock), ``chart`` and ``cli``
(``autoscalebot simulate``).
"""

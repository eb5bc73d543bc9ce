"""Decision backend: Kubernetes' Horizontal Pod Autoscaler, fed utilisation estimated from latency.

Source: the Kubernetes documentation, "Horizontal Pod Autoscaling",
section "Algorithm details" and "Configurable scaling behavior"
(kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/):

- desired = ceil(current * currentMetric / desiredMetric), skipped while the
  ratio is within the tolerance of 0.1;
- scale down to the highest recommendation of the last 300 s (the default
  scale-down stabilisation window); scale up at once (no window);
- scale up by at most max(100 %, 4 pods) per 15 s period (the default
  scale-up policies), counting from the count 15 s ago, so beats more often
  than every 15 s cannot compound it; scale down by up to 100 % per 15 s.

A heartbeat carries latency, not CPU, so the metric is the utilisation an
M/M/k dyno would need to show the mean latency of the last 60 s of beats
(the metrics pipeline's window), and the target utilisation is the one at
which the app just meets its latency target (``APP_*`` settings, see
:mod:`autoscalebot.backends.policies.profile`).

Latency, unlike CPU, saturates: past capacity the estimate tops out near
100 % busy however deep the queue, and with a hot target (85 % or more of
the dynos busy, ``TARGET_PERCENTILE`` 85 or less) a timed-out heartbeat
would read as a ratio within the tolerance, so the HPA would never scale
up. A pegged metric (a beat that timed out or
failed, or 99 % busy or more) therefore skips the tolerance and asks for at
least one more pod.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from autoscalebot.backends.base import Bounds, Measurement, Verdict
from autoscalebot.backends.policies.profile import BeatWindow, LatencyPolicy, no_change
from autoscalebot.backends.policies.queueing import utilisation_for_share, utilisation_from_mean
from autoscalebot.backends.policy import classify
from autoscalebot.config.settings import Settings

TOLERANCE = 0.1
DOWN_STABILISATION_S = 300.0
METRIC_WINDOW_S = 60.0
UP_PERIOD_S = 15.0  # the scale-up policies' period
UP_PODS = 4
MIN_TARGET = 0.05
PEGGED = 0.99  # the estimate tops out here: the queue is deeper than latency can say


class HPAPolicy(LatencyPolicy):
    """The HPA's replica formula, tolerance, stabilisation window and rate limits."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        self.window = BeatWindow(METRIC_WINDOW_S)
        self.recommendations: deque[tuple[float, int]] = deque()
        # Count changes seen between beats, (when, change): the rate limit counts
        # every change of the last 15 s, not just this beat's, as Kubernetes does.
        self.changes: deque[tuple[float, int]] = deque()
        self.last: tuple[float, int] | None = None  # (when, count) at the last beat
        super().__init__(settings)

    def configure(self, settings: Settings) -> None:
        super().configure(settings)
        # An app too slow to meet the target even idle gets the lowest sane target.
        self.target_util = max(
            MIN_TARGET,
            utilisation_for_share(
                self.app.concurrency, self.app.target_ms / self.app.service_ms, self.app.slow_share
            ),
        )

    def reset(self) -> None:
        # A fresh metric after a scale; the recommendations (the stabilisation window) stay.
        self.window.clear()

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        outcome = classify(m, self.s)
        changes = self.changes
        if self.last is not None and current != self.last[1]:
            # Made after the last beat's verdict: date it then.
            changes.append((self.last[0], current - self.last[1]))
        self.last = (now, current)
        while changes and changes[0][0] <= now - UP_PERIOD_S:
            changes.popleft()
        latency = self.app.latency(m)
        self.window.add(now, latency)
        util = utilisation_from_mean(self.app.concurrency, self.window.mean() / self.app.service_ms)
        ratio = util / self.target_util
        if current == 0:
            # Nothing serves, so no utilisation to scale: one dyno if the app needs one.
            desired = 1 if outcome == "fail" else 0
        elif (latency >= self.app.timeout_ms or util >= PEGGED) and util > self.target_util:
            desired = max(current + 1, math.ceil(current * ratio))
        elif abs(ratio - 1.0) <= TOLERANCE:
            desired = current
        else:
            desired = max(1, math.ceil(current * ratio))
        recs = self.recommendations
        recs.append((now, desired))
        while recs[0][0] <= now - DOWN_STABILISATION_S:
            recs.popleft()
        wanted, reason = None, ""
        if desired > current:
            start = current - sum(d for _, d in changes)  # the count one period ago
            limit = start + max(start, UP_PODS)
            wanted = min(desired, limit) if limit > current else None  # None: this period's used up
            reason = (
                "no pod serves and the beat failed"
                if current == 0
                else f"estimated utilisation {util:.0%} over the {self.target_util:.0%} target"
            )
        else:
            stable = max(r for _, r in recs)
            if stable < current:
                wanted = stable
                reason = f"every recommendation of the last {DOWN_STABILISATION_S:g} s is {stable} or fewer"
        if wanted is None:
            return no_change(outcome)
        return Verdict(outcome=outcome, wanted=wanted, reason=reason)

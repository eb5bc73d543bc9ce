"""Decision backend: Judoscale-like, on response time in 10 s buckets.

Source: Judoscale's guide "Refining your autoscaling behavior"
(judoscale.com/guides/autoscaling-behavior) and docs "Tuning your
application" (judoscale.com/docs/tuning-your-application):

- metrics are aggregated every 10 s and compared with a range; here the
  range is ``MIN_RESPONSE_TIME_IN_MS``..``MAX_RESPONSE_TIME_IN_MS``;
- upscale when a recent 10 s aggregate is over the range and the process
  has not scaled up in the last three minutes (upscale frequency), by the
  dyno jump (``INCREMENT``);
- downscale only when every aggregate of the downscale delay (10 minutes)
  is under the range, and then at most once per delay, one dyno at a time.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from autoscalebot.backends.base import Bounds, Measurement, Verdict
from autoscalebot.backends.policies.profile import LatencyPolicy, no_change
from autoscalebot.backends.policy import classify
from autoscalebot.config.settings import Settings

BUCKET_S = 10.0
UPSCALE_FREQUENCY_S = 180.0
DOWNSCALE_DELAY_S = 600.0


class JudoscalePolicy(LatencyPolicy):
    """Range check on 10 s aggregates; quick up with a cooldown, slow down after a delay."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        self.buckets: deque[tuple[int, float, int]] = deque()  # (bucket, sum, count)
        self.started: float | None = None
        self.last_up = -math.inf
        self.last_down = -math.inf
        # The timers start when the count changed, not when a scale was wanted: the
        # engine may refuse (paused, at MAX). A change shows as a new `current`,
        # made after the previous beat.
        self.count: int | None = None
        self.last_now = -math.inf
        super().__init__(settings)  # Judoscale's timers run on the clock: reset() keeps them

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        outcome = classify(m, self.s)
        if self.started is None:
            self.started = now
        if self.count is not None and current != self.count:
            if current > self.count:
                self.last_up = self.last_now
            else:
                self.last_down = self.last_now
        self.count = current
        self.last_now = now
        bucket = int(now // BUCKET_S)
        latency = self.app.latency(m)
        b = self.buckets
        if b and b[-1][0] == bucket:
            _, total, n = b[-1]
            b[-1] = (bucket, total + latency, n + 1)
        else:
            b.append((bucket, latency, 1))
        oldest = int((now - DOWNSCALE_DELAY_S) // BUCKET_S)
        while b[0][0] <= oldest:
            b.popleft()
        latest = b[-1][1] / b[-1][2]
        high = self.s.max_response_time_in_ms
        low = self.s.min_response_time_in_ms
        if latest > high and now - self.last_up >= UPSCALE_FREQUENCY_S:
            return Verdict(
                outcome,
                current + self.s.increment,
                f"10 s aggregate {latest:.0f} ms over {high:g} ms",
            )
        quiet_since = max(self.last_up, self.last_down, self.started)
        if now - quiet_since >= DOWNSCALE_DELAY_S and all(total / n < low for _, total, n in b):
            return Verdict(
                outcome, current - 1, f"every 10 s aggregate of the last 10 min under {low:g} ms"
            )
        return no_change(outcome)

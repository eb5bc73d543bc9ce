"""Decision backend: AWS step scaling on a CloudWatch latency alarm, with a cooldown.

Source: the AWS Application Auto Scaling User Guide, "Step scaling policies"
(docs.aws.amazon.com/autoscaling/application/userguide/step-scaling-policy-overview.html),
and its API reference for ``StepScalingPolicyConfiguration.Cooldown``:

- the metric is the Average of the beats in each 60 s period, or one beat
  interval if that is longer (a period always holds a beat: with 60 s
  periods a 90 s beat would leave periods empty, missing data that never
  breaches, and the alarm would never fire);
- the scale-out alarm fires after 3 periods in a row over
  ``MAX_RESPONSE_TIME_IN_MS``; the scale-in alarm after 15 periods in a row
  under ``MIN_RESPONSE_TIME_IN_MS`` (the datapoint counts target tracking
  uses for its own alarms);
- step adjustments by the size of the breach: under +50 % add one dyno
  (``INCREMENT``), +50 % to +100 % add two, beyond that add three;
  scale-in removes one;
- while an alarm stays in ALARM the policy runs again each period;
- cooldown 300 s: during a scale-out cooldown only the part of a new
  adjustment beyond the last one is applied; scale-in waits out any cooldown.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from autoscalebot.backends.base import Bounds, Measurement, Verdict
from autoscalebot.backends.policies.profile import LatencyPolicy, no_change
from autoscalebot.backends.policy import classify
from autoscalebot.config.settings import Settings

PERIOD_S = 60.0  # the shortest period; longer when the beats are further apart
HIGH_PERIODS = 3
LOW_PERIODS = 15
COOLDOWN_S = 300.0


class StepScalingPolicy(LatencyPolicy):
    """CloudWatch-style alarms over period averages (a minute or a beat), step adjustments, cooldown."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        self.period: int | None = None
        self.samples: list[float] = []
        self.averages: deque[float | None] = deque(maxlen=LOW_PERIODS)
        # (when, adjustment) of the last change of the count. It starts the cooldown
        # only when the count did change (the engine may refuse: paused, at MAX): a
        # new `current`, made after the previous beat.
        self.last_scale: tuple[float, int] | None = None
        self.count: int | None = None
        self.last_now = 0.0
        self.period_s = PERIOD_S
        super().__init__(settings)  # alarms and cooldowns are time-based: reset() keeps them

    def configure(self, settings: Settings) -> None:
        super().configure(settings)
        period_s = max(PERIOD_S, settings.heartbeat_interval_in_seconds)
        if period_s != self.period_s:  # periods of another length: the alarms start again
            self.period_s = period_s
            self.period = None
            self.samples = []
            self.averages.clear()

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        outcome = classify(m, self.s)
        if self.count is not None and current != self.count:
            self.last_scale = (self.last_now, current - self.count)
        self.count = current
        self.last_now = now
        period = int(now // self.period_s)
        wanted, reason = None, ""
        if self.period is not None and period != self.period:
            closed = sum(self.samples) / len(self.samples) if self.samples else None
            self.averages.append(closed)
            for _ in range(min(LOW_PERIODS, period - self.period - 1)):
                self.averages.append(None)  # missing data: not breaching
            self.samples = []
            wanted, reason = self._evaluate(current, now)
        self.period = period
        self.samples.append(self.app.latency(m))
        if wanted is None:
            return no_change(outcome)
        return Verdict(outcome=outcome, wanted=wanted, reason=reason)

    def _evaluate(self, current: int, now: float) -> tuple[int | None, str]:
        high = self.s.max_response_time_in_ms
        low = self.s.min_response_time_in_ms
        recent = list(self.averages)
        cooling = self.last_scale is not None and now - self.last_scale[0] < COOLDOWN_S
        last = recent[-HIGH_PERIODS:]
        if len(last) == HIGH_PERIODS and all(a is not None and a > high for a in last):
            breach = (last[-1] or 0.0) / high - 1.0
            step = 1 if breach < 0.5 else 2 if breach < 1.0 else 3
            adjust = step * self.s.increment
            if cooling and self.last_scale is not None and self.last_scale[1] > 0:
                adjust -= self.last_scale[1]  # the last scale-out still counts
            if adjust <= 0:
                return None, ""
            return (
                current + adjust,
                f"{HIGH_PERIODS} {self.period_s:g} s averages over {high:g} ms (last {last[-1]:.0f} ms)",
            )
        if (
            not cooling
            and len(recent) == LOW_PERIODS
            and all(a is not None and a < low for a in recent)
        ):
            return (
                current - self.s.increment,
                f"{LOW_PERIODS} {self.period_s:g} s averages under {low:g} ms",
            )
        return None, ""

"""Decision backend: like Heroku's own autoscaling, toward a p95 response-time target.

Source: Heroku Dev Center, "Autoscaling" (devcenter.heroku.com/articles/autoscaling):
the desired p95 response time drives it; every autoscaling event adds or
removes a single web dyno; events are at least one minute apart; it scales
down less aggressively than up.

Heroku computes the dynos needed from the last hour's throughput and
response times; a heartbeat has no throughput, so this version keeps only
the observable part: the p95 of the beats since the last event (over at
most 10 minutes) against ``MAX_RESPONSE_TIME_IN_MS``. Up one dyno when it is
over (at least two beats and a minute after the last event); down one when
it is under half the target over a full 10 minutes of beats.
"""

from __future__ import annotations

import math
from typing import Any

from autoscalebot.backends.base import Bounds, Measurement, Verdict
from autoscalebot.backends.policies.profile import BeatWindow, LatencyPolicy, no_change
from autoscalebot.backends.policy import classify
from autoscalebot.config.settings import Settings

WINDOW_S = 600.0
MIN_GAP_S = 60.0
DOWN_SHARE = 0.5


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    rank = math.ceil(
        0.95 * len(ordered) - 1e-9
    )  # 1-based; the epsilon absorbs 0.95 * 20 = 19.000000000000004
    return ordered[min(len(ordered) - 1, max(0, rank - 1))]


class HerokuAutoscalingPolicy(LatencyPolicy):
    """One dyno per event toward a p95 target; up after a minute, down after ten."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        self.window = BeatWindow(WINDOW_S)
        self.since: float | None = None
        super().__init__(settings)

    def reset(self) -> None:
        self.window.clear()
        self.since = None

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        outcome = classify(m, self.s)
        if self.since is None:
            self.since = now
        self.window.add(now, self.app.latency(m))
        values = self.window.values()
        target = self.app.target_ms
        if len(values) < 2 or now - self.since < MIN_GAP_S:
            return no_change(outcome)
        top = p95(values)
        if top > target:
            return Verdict(
                outcome, current + 1, f"p95 of {len(values)} beats {top:.0f} ms over {target:g} ms"
            )
        if now - self.since >= WINDOW_S - 1e-9 and top < DOWN_SHARE * target:
            return Verdict(
                outcome,
                current - 1,
                f"p95 of {len(values)} beats {top:.0f} ms under half of {target:g} ms",
            )
        return no_change(outcome)

"""Cost-versus-slow-share frontiers: every policy over its own knob, judged by one fixed SLO.

One setting of a policy is one point: (share of requests slower than the
reference target, dyno-hours over the oracle's). Cost and slowness trade
against each other, so a policy is its whole curve, not one point: each is
swept over the knob its users would turn (:data:`KNOBS`), and compared where
the curves overlap. The reference SLO (``Scenario.target_ms``, p95 by
default) does not move while the knobs do.

- :func:`pareto`: the points no other point beats on both cost and slowness;
- :func:`cost_at`: the cheapest cost a frontier reaches at a slow share
  (linear between its points in log slow share; at a looser share its
  cheapest point still serves; at a tighter one, nothing: ``None``);
- :func:`compare`: per point of a baseline's frontier, how much cheaper
  (positive) or dearer (negative) the other frontier is at that slow share.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autoscalebot.config.settings import SPEC_BY_NAME, Settings

# Each policy's own knob, swept: (label, settings overrides). The first is the default.
# Policies that judge latency against MAX_RESPONSE_TIME_IN_MS turn that (and MIN with
# it); those that model the app turn TARGET_PERCENTILE. Every run is still judged by
# the scenario's fixed reference SLO. The heartbeat timeout is pinned at 2 s so the
# probe is the same for every setting.
KNOBS: dict[str, tuple[tuple[str, dict[str, object]], ...]] = {
    "streak": (
        ("3/5 beats, 1000/200 ms", {}),
        (
            "2/5 beats, 600/150 ms",
            {
                "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER": 2,
                "MAX_RESPONSE_TIME_IN_MS": 600,
                "MIN_RESPONSE_TIME_IN_MS": 150,
            },
        ),
        (
            "1/8 beats, 400/120 ms",
            {
                "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER": 1,
                "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER": 8,
                "MAX_RESPONSE_TIME_IN_MS": 400,
                "MIN_RESPONSE_TIME_IN_MS": 120,
            },
        ),
    ),
    "hpa": (
        ("p95", {}),
        ("p99", {"TARGET_PERCENTILE": 99.0}),
        ("p85", {"TARGET_PERCENTILE": 85.0}),
        ("p70", {"TARGET_PERCENTILE": 70.0}),
    ),
    "step": (
        ("1000/200 ms", {}),
        ("400/100 ms", {"MAX_RESPONSE_TIME_IN_MS": 400, "MIN_RESPONSE_TIME_IN_MS": 100}),
        ("600/150 ms", {"MAX_RESPONSE_TIME_IN_MS": 600, "MIN_RESPONSE_TIME_IN_MS": 150}),
        ("1500/300 ms", {"MAX_RESPONSE_TIME_IN_MS": 1500, "MIN_RESPONSE_TIME_IN_MS": 300}),
    ),
    "judoscale": (
        ("200-1000 ms", {}),
        ("100-400 ms", {"MAX_RESPONSE_TIME_IN_MS": 400, "MIN_RESPONSE_TIME_IN_MS": 100}),
        ("150-600 ms", {"MAX_RESPONSE_TIME_IN_MS": 600, "MIN_RESPONSE_TIME_IN_MS": 150}),
        ("300-1500 ms", {"MAX_RESPONSE_TIME_IN_MS": 1500, "MIN_RESPONSE_TIME_IN_MS": 300}),
    ),
    "heroku": (
        ("p95 1000 ms", {}),
        ("p95 500 ms", {"MAX_RESPONSE_TIME_IN_MS": 500, "MIN_RESPONSE_TIME_IN_MS": 100}),
        ("p95 700 ms", {"MAX_RESPONSE_TIME_IN_MS": 700, "MIN_RESPONSE_TIME_IN_MS": 150}),
        ("p95 1500 ms", {"MAX_RESPONSE_TIME_IN_MS": 1500, "MIN_RESPONSE_TIME_IN_MS": 300}),
    ),
    "adaptive": (
        ("p95", {}),
        ("p99.9", {"TARGET_PERCENTILE": 99.9}),
        ("p99.5, hold 20 min", {"TARGET_PERCENTILE": 99.5, "ADAPTIVE_DOWN_WINDOW_SECONDS": 1200}),
        ("p99, hold 20 min", {"TARGET_PERCENTILE": 99.0, "ADAPTIVE_DOWN_WINDOW_SECONDS": 1200}),
        ("p99", {"TARGET_PERCENTILE": 99.0}),
        ("p85", {"TARGET_PERCENTILE": 85.0}),
        ("p75", {"TARGET_PERCENTILE": 75.0}),
        ("p60", {"TARGET_PERCENTILE": 60.0}),
    ),
}
PINNED = {"HEARTBEAT_TIMEOUT_IN_SECONDS": 2.0}


def label(policy: str, knob: str) -> str:
    """``hpa`` for a policy's default setting, ``hpa@p85`` for another."""
    first = KNOBS.get(policy, (("", {}),))[0][0]
    return policy if knob == first else f"{policy}@{knob}"


@dataclass(frozen=True)
class Point:
    """One setting of one policy: slow share (%) and cost (x the oracle), means over seeds."""

    knob: str
    slow_pct: float
    cost: float


FLOOR_PCT = 1e-4  # slow shares are compared on a log scale; below this counts as this


def _log(slow: float) -> float:
    return math.log10(max(slow, FLOOR_PCT))


def pareto(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both counts, from the least slow (dearest) on."""
    out: list[Point] = []
    for p in sorted(points, key=lambda p: (p.slow_pct, p.cost)):
        if not out or p.cost < out[-1].cost:
            out.append(p)
    return out


def cost_at(front: Sequence[Point], slow_pct: float) -> float | None:
    """The frontier's cost at ``slow_pct``: None when it never gets that few slow requests."""
    if not front or slow_pct < front[0].slow_pct - 1e-12:
        return None
    x = _log(slow_pct)
    for a, b in zip(front, front[1:], strict=False):
        if a.slow_pct <= slow_pct <= b.slow_pct:
            xa, xb = _log(a.slow_pct), _log(b.slow_pct)
            if xb <= xa:
                return b.cost
            return a.cost + (b.cost - a.cost) * (x - xa) / (xb - xa)
    return front[-1].cost  # looser than its cheapest point: that point will do


@dataclass(frozen=True)
class Comparison:
    """One frontier against a baseline's: the gain at each of the baseline's points."""

    baseline: str
    gains: tuple[tuple[Point, float | None], ...]  # (baseline point, 1 - ours/theirs or None)

    @property
    def reached(self) -> list[float]:
        return [g for _, g in self.gains if g is not None]

    @property
    def losses(self) -> list[tuple[Point, float | None]]:
        return [(p, g) for p, g in self.gains if g is None or g < 0.0]

    @property
    def wins_everywhere(self) -> bool:
        return not self.losses


# The slow shares a verdict is about. Below 0.01 % is the app's own floor (with an
# exponential 100 ms service, e^-10 = 0.0045 % of requests take over 1 s on an idle
# dyno: only idle dynos get there, at any cost); above 10 % the app fails its users.
# Points outside are still drawn and listed; they are not judged.
VERDICT_RANGE = (0.01, 10.0)


def compare(
    ours: Sequence[Point],
    theirs: Sequence[Point],
    baseline: str,
    within: tuple[float, float] = VERDICT_RANGE,
) -> Comparison:
    """At each point of the baseline's frontier within the range: how much cheaper ours is there."""
    front = pareto(ours)
    gains = []
    for p in pareto(theirs):
        if not within[0] <= p.slow_pct <= within[1]:
            continue
        c = cost_at(front, p.slow_pct)
        gains.append((p, None if c is None else 1.0 - c / p.cost))
    return Comparison(baseline, tuple(gains))


def summary(c: Comparison) -> tuple[str, str, str, str]:
    """(worst, median, best gain, where it loses) as text for a table row."""
    reached = sorted(c.reached)
    if reached:
        worst, best = reached[0], reached[-1]
        mid = (
            reached[len(reached) // 2]
            if len(reached) % 2
            else 0.5 * (reached[len(reached) // 2 - 1] + reached[len(reached) // 2])
        )
        cells = (f"{worst:+.1%}", f"{mid:+.1%}", f"{best:+.1%}")
    else:
        cells = ("-", "-", "-")
    where = []
    for p, g in c.losses:
        at = f"{p.knob} ({_pct(p.slow_pct)} % slow)"
        where.append(f"{at}: not reached" if g is None else f"{at}: {-g:.1%} dearer")
    return (*cells, "; ".join(where) if where else "nowhere")


def _pct(value: float) -> str:
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def points_by_policy(
    rows: Mapping[str, tuple[float, float]], policies: Sequence[str]
) -> dict[str, list[Point]]:
    """{policy: its points} from {label: (slow %, cost)} (labels as :func:`label` makes them)."""
    out: dict[str, list[Point]] = {}
    for policy in policies:
        for knob, _ in KNOBS.get(policy, (("", {}),)):
            value = rows.get(label(policy, knob))
            if value is not None:
                out.setdefault(policy, []).append(Point(knob, value[0], value[1]))
    return out


def tuned(settings: Settings, overrides: Mapping[str, object]) -> Settings:
    """``settings`` with one knob setting applied (seed names; the values are the table's, valid)."""
    changes: dict[str, Any] = {SPEC_BY_NAME[name].attr: value for name, value in overrides.items()}
    return dataclasses.replace(settings, **changes) if changes else settings


def settings_grid(policy: str, settings: Settings) -> list[tuple[str, Settings]]:
    """(label, settings) for every setting of ``policy``'s knob (just its default if it has none)."""
    knobs = KNOBS.get(policy, (("", {}),))
    return [(label(policy, knob), tuned(settings, over)) for knob, over in knobs]

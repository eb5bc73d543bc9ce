"""What a run cost and how users fared: the numbers the comparison table shows."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

REVERSAL_WINDOW_S = 600.0  # a change of direction within 10 minutes is a flap
REACTION_CAP_S = 3600.0  # a step not met within an hour counts as an hour


@dataclass(frozen=True)
class Metrics:
    """One policy on one trace.

    ``slow_pct``: share of requests slower than the latency target, in %;
    ``timeout_pct``: share that hit the router's 30 s timeout, in %;
    ``vs_oracle``: dyno-hours over the oracle's; ``reaction_s``: median time
    from a step up in load until enough dynos serve again (None: no steps).
    """

    policy: str
    trace: str
    seed: int
    dyno_hours: float
    vs_oracle: float
    slow_pct: float
    timeout_pct: float
    scales: int
    reversals: int
    reaction_s: float | None


def reversals(scales: Sequence[tuple[float, int, int]], window_s: float = REVERSAL_WINDOW_S) -> int:
    """Scale calls that change direction within ``window_s`` of the call before."""
    count = 0
    prev: tuple[float, int] | None = None
    for t, before, after in scales:
        sign = 1 if after > before else -1
        if prev is not None and sign != prev[1] and t - prev[0] <= window_s:
            count += 1
        prev = (t, sign)
    return count


def reaction_times(
    events: Sequence[float],
    beat_s: float,
    enough: Sequence[bool],
    *,
    cap_s: float = REACTION_CAP_S,
) -> list[float]:
    """Per load step: seconds until the first beat with enough serving capacity.

    ``enough[i]`` says whether beat ``i`` (at ``i * beat_s``) had at least the
    oracle's need serving. The search stops at the next step
    or after ``cap_s``; a step never met counts as that whole span.
    """
    out = []
    for k, e in enumerate(events):
        stop = min(e + cap_s, events[k + 1] if k + 1 < len(events) else math.inf)
        i = math.ceil(e / beat_s - 1e-9)
        found = None
        while i < len(enough) and i * beat_s < stop:
            if enough[i]:
                found = i * beat_s - e
                break
            i += 1
        if found is None:
            found = min(stop, len(enough) * beat_s) - e
        out.append(max(0.0, found))
    return out


RISE_SHARE = 0.25  # a load step: the need rises by a quarter (and at least one dyno) ...
RISE_WITHIN_S = 300.0  # ... over its lowest in the last five minutes
RISE_APART_S = 900.0  # one event per quarter hour at most


def need_rises(need: Sequence[int], step_s: float) -> list[float]:
    """Load steps read off the oracle's need, for traces that do not say where theirs are (files).

    A step is a moment the need rises by at least a quarter, and at least one
    dyno, over its lowest of the five minutes before; events are at least a
    quarter of an hour apart.
    """
    back = max(1, round(RISE_WITHIN_S / step_s))
    out: list[float] = []
    for i in range(1, len(need)):
        low = min(need[max(0, i - back) : i])
        if need[i] - low >= max(1.0, RISE_SHARE * low) and need[i] > need[i - 1]:
            t = i * step_s
            if not out or t - out[-1] >= RISE_APART_S:
                out.append(t)
    return out


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(rows: Sequence[Metrics], policy: str, trace: str) -> Metrics:
    """The mean over seeds (reaction: the median of the seeds' medians)."""
    n = len(rows)
    reactions = [r.reaction_s for r in rows if r.reaction_s is not None]
    return Metrics(
        policy,
        trace,
        -1,
        sum(r.dyno_hours for r in rows) / n,
        sum(r.vs_oracle for r in rows) / n,
        sum(r.slow_pct for r in rows) / n,
        sum(r.timeout_pct for r in rows) / n,
        round(sum(r.scales for r in rows) / n),
        round(sum(r.reversals for r in rows) / n),
        median_or_none(reactions),
    )

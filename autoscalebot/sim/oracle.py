"""The bounds every policy is measured against.

- The oracle knows the whole trace in advance. At each step it needs the
  fewest serving dynos that keep the share of requests over the latency
  target at or below the SLO share (within MIN_DYNOS..MAX_DYNOS of that
  moment). Dynos are interchangeable, so the cheapest schedule is found one
  level at a time: level ``j`` is needed wherever the need is ``j`` or more;
  a gap between two such intervals shorter than the boot delay is cheaper to
  bridge than to stop and restart; each kept interval is started one boot
  delay early (billed from the call). The sum over levels is the least any
  policy can pay while meeting the target at every moment: the lower bound.
- The static count is the peak need held all week: what a careful person
  with no autoscaler pays (the upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from autoscalebot.config.settings import Settings
from autoscalebot.sim.model import AppModel, needed_dynos
from autoscalebot.sim.traces import Trace


@dataclass(frozen=True)
class Plan:
    """A dyno schedule: the count at t=0, then ``(t, count)`` scale calls."""

    initial: int
    calls: tuple[tuple[float, int], ...]


def bounds_per_step(trace: Trace, settings: Settings, tz: tzinfo) -> list[tuple[int, int]]:
    """(MIN_DYNOS, MAX_DYNOS) at each step of the trace, read in ``tz``."""
    low, high = settings.min_dynos, settings.max_dynos
    if low.is_constant and high.is_constant:
        return [(low.entries[0][1], high.entries[0][1])] * len(trace.rps)
    out = []
    for i in range(len(trace.rps)):
        local = (trace.start + timedelta(seconds=i * trace.step_s)).astimezone(tz)
        minute = local.hour * 60 + local.minute
        out.append((low.value_at_minute(minute), high.value_at_minute(minute)))
    return out


def need_per_step(
    trace: Trace, model: AppModel, target_ms: float, share: float, bounds: list[tuple[int, int]]
) -> list[int]:
    """Serving dynos needed at each step, clamped to that step's bounds."""
    return needs(trace, model, target_ms, share, bounds)[0]


# How far past MAX_DYNOS the unclamped need is searched (enough to say "needs 3x MAX").
SHORT_SEARCH = 4


def needs(
    trace: Trace, model: AppModel, target_ms: float, share: float, bounds: list[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """(need clamped to the bounds, the unclamped need) per step.

    Where the unclamped need is over that step's MAX_DYNOS the target cannot
    be met at all: the oracle there is infeasible, and so is every policy.
    """
    cache: dict[tuple[float, int], int] = {}
    out = []
    raw = []
    for rps, (low, high) in zip(trace.rps, bounds, strict=True):
        cap = SHORT_SEARCH * max(high, 1) + 1
        key = (round(rps, 3), cap)
        n = cache.get(key)
        if n is None:
            n = cache[key] = needed_dynos(model, rps, target_ms, share, cap=cap)
        raw.append(n)
        out.append(max(low, min(high, n)))
    return out, raw


@dataclass(frozen=True)
class Shortfall:
    """Where MAX_DYNOS cannot carry the trace: steps, hours, the worst need."""

    steps: tuple[int, ...]
    step_s: float
    worst: int  # the most dynos any step needs (at most SHORT_SEARCH x MAX_DYNOS)
    limit: int  # MAX_DYNOS at the worst step

    @property
    def hours(self) -> float:
        return len(self.steps) * self.step_s / 3600.0

    def spans(self, start: datetime, tz: tzinfo, most: int = 4) -> list[str]:
        """The first ``most`` runs of short steps as 'Mon 10:05-11:40' (local time)."""
        out = []
        runs: list[list[int]] = []
        for i in self.steps:
            if runs and i == runs[-1][1] + 1:
                runs[-1][1] = i
            else:
                runs.append([i, i])
        for a, b in runs[:most]:
            t0 = (start + timedelta(seconds=a * self.step_s)).astimezone(tz)
            t1 = (start + timedelta(seconds=(b + 1) * self.step_s)).astimezone(tz)
            out.append(f"{t0:%a %H:%M}-{t1:%H:%M}")
        if len(runs) > most:
            out.append(f"and {len(runs) - most} more")
        return out


def shortfall(raw: list[int], bounds: list[tuple[int, int]], step_s: float) -> Shortfall | None:
    """The steps whose need is over MAX_DYNOS, or None when MAX_DYNOS carries the whole trace."""
    steps = tuple(i for i, (n, (_, high)) in enumerate(zip(raw, bounds, strict=True)) if n > high)
    if not steps:
        return None
    worst = max(steps, key=lambda i: raw[i])
    return Shortfall(steps, step_s, raw[worst], bounds[worst][1])


def oracle_plan(need: list[int], step_s: float, boot_s: float) -> Plan:
    """The cheapest schedule that serves ``need`` at every step, by per-level interval merging."""
    deltas: dict[float, int] = {}
    initial = 0
    for level in range(1, max(need, default=0) + 1):
        runs = _runs_at_least(need, level)
        merged: list[list[int]] = []
        for a, b in runs:  # steps [a, b)
            if merged and (a - merged[-1][1]) * step_s <= boot_s:
                merged[-1][1] = b  # bridging the gap costs less than a restart
            else:
                merged.append([a, b])
        for a, b in merged:
            start = a * step_s - boot_s
            if start <= 0.0:
                initial += 1  # there from the beginning (serving at t=0)
            else:
                deltas[start] = deltas.get(start, 0) + 1
            end = b * step_s
            if b < len(need):
                deltas[end] = deltas.get(end, 0) - 1
    calls = []
    count = initial
    for t in sorted(deltas):
        if deltas[t]:
            count += deltas[t]
            calls.append((t, count))
    return Plan(initial, tuple(calls))


def _runs_at_least(values: list[int], level: int) -> list[tuple[int, int]]:
    runs = []
    start = None
    for i, v in enumerate(values):
        if v >= level and start is None:
            start = i
        elif v < level and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(values)))
    return runs


def static_plan(need: list[int]) -> Plan:
    """The peak need, held from start to end."""
    return Plan(max(need, default=1), ())

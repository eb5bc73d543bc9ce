"""Runs a decision backend through a trace with the real engine on a fake clock.

A :class:`Scenario` is what every policy faces: one trace, one app model,
one set of settings, the SLO, and the oracle's need. :func:`run_policy`
builds the engine with the simulated probe and scaler and ticks it once per
heartbeat interval; :func:`run_plan` plays a fixed schedule (the oracle's,
the static one) through the same world, so all rows are measured alike.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from autoscalebot.config.settings import BACKEND_ALIASES, Settings
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from autoscalebot.engine.loading import build_backend
from autoscalebot.sim import oracle
from autoscalebot.sim.backends import SimProbe, SimScaler
from autoscalebot.sim.metrics import (
    Metrics,
    median_or_none,
    need_rises,
    reaction_times,
    reversals,
)
from autoscalebot.sim.model import AppModel, World
from autoscalebot.sim.traces import Trace

# The policies the bench compares come from one table, the settings' decision
# aliases; the bench and the CLI label them by short name (``step`` for
# ``step-scaling``), and accept either spelling. The first five are the baselines.
SHORT_NAMES: dict[str, str] = {"step-scaling": "step", "heroku-autoscaling": "heroku"}
BASELINES = ("streak", "hpa", "step", "judoscale", "heroku")
_ALIASES = BACKEND_ALIASES["DECISION_BACKEND"]
_ORDER = {name: i for i, name in enumerate(BASELINES)}  # baselines first, in this order
# The queue policy reads job queues, not a web heartbeat: nothing to simulate here.
NOT_WEB = ("queue",)
POLICIES: dict[str, str] = dict(
    sorted(
        (
            (SHORT_NAMES.get(alias, alias), path)
            for alias, path in _ALIASES.items()
            if alias not in NOT_WEB
        ),
        key=lambda item: _ORDER.get(item[0], len(_ORDER)),
    )
)
_BY_PATH = {path: short for short, path in POLICIES.items()}


ORACLE_INFEASIBLE = "oracle (infeasible)"  # MAX_DYNOS cannot meet the target somewhere
DEFAULT_SLO_SHARE = 0.05  # the latency target holds for 95% of requests (a p95 target)


@dataclass(frozen=True)
class Series:
    """Per heartbeat, for the chart: time, load, dynos billed, dynos serving, heartbeat ms."""

    t: list[float]
    rps: list[float]
    count: list[int]
    serving: list[int]
    latency_ms: list[float | None]


@dataclass(frozen=True)
class Result:
    """One run: its metrics, and its series when asked for."""

    metrics: Metrics
    series: Series | None = None


@dataclass(frozen=True)
class Scenario:
    """What every policy faces in one comparison.

    ``target_ms`` and ``slo_share`` are the reference SLO every run is judged
    by (slow %: requests over ``target_ms``), fixed for the scenario whatever
    thresholds a policy is run with. ``events`` are the load steps the
    reaction column times: the trace's own, else read off the need.
    ``short`` says where MAX_DYNOS cannot carry the trace (None: nowhere).
    """

    trace: Trace
    model: AppModel
    settings: Settings
    slo_share: float
    need: list[int]
    seed: int
    target_ms: float = 1000.0
    events: tuple[float, ...] = ()
    short: oracle.Shortfall | None = None


def sim_tz(settings: Settings) -> tzinfo:
    """The zone schedules are read in; UTC when none is set, so runs repeat anywhere."""
    return ZoneInfo(settings.time_zone) if settings.time_zone else ZoneInfo("UTC")


def prepare(
    trace: Trace,
    settings: Settings,
    *,
    model: AppModel | None = None,
    slo_share: float = DEFAULT_SLO_SHARE,
    seed: int = 0,
    target_ms: float | None = None,
) -> Scenario:
    """The scenario for ``trace``: settings made safe to simulate, and the oracle's need.

    ``target_ms`` (default MAX_RESPONSE_TIME_IN_MS) and ``slo_share`` are the
    reference SLO, which runs with other thresholds are still judged by.
    """
    model = model or AppModel()
    # No notifications, no platform, and a fixed zone: the run must be silent and repeatable.
    settings = dataclasses.replace(
        settings,
        time_zone=settings.time_zone or "UTC",
        notification_backends=(),
        notify_on_every_ping=False,
        dry_run=False,
    )
    target = settings.max_response_time_in_ms if target_ms is None else target_ms
    bounds = oracle.bounds_per_step(trace, settings, sim_tz(settings))
    need, raw = oracle.needs(trace, model, target, slo_share, bounds)
    events = trace.events or tuple(need_rises(raw, trace.step_s))
    short = oracle.shortfall(raw, bounds, trace.step_s)
    return Scenario(trace, model, settings, slo_share, need, seed, target, events, short)


def policy_name(name: str) -> str:
    """The short name of a policy given by short name, decision alias or dotted path; else ``name``."""
    if name in POLICIES:
        return name
    if name in _ALIASES:
        return SHORT_NAMES.get(name, name)
    return _BY_PATH.get(name, name)


def policy_path(name: str) -> str:
    """A short name (``hpa``), a decision alias (``step-scaling``), or a dotted path, as a dotted path."""
    return POLICIES.get(policy_name(name), name)


def spellings(short: str) -> str:
    """``step (step-scaling)``: a short name with its settings alias, when they differ."""
    alias = next((a for a, s in SHORT_NAMES.items() if s == short), None)
    return f"{short} ({alias})" if alias else short


def _world(sc: Scenario, dynos: int) -> World:
    return World(
        sc.model,
        list(sc.trace.rps),
        sc.trace.step_s,
        target_ms=sc.target_ms,
        dynos=dynos,
        seed=sc.seed,
    )


def run_policy(
    sc: Scenario,
    policy: str,
    *,
    label: str | None = None,
    oracle_hours: float | None = None,
    keep: bool = False,
    settings: Settings | None = None,
    figures: bool = False,
) -> Result:
    """Run ``policy`` (a short name or dotted path) through the scenario with the real engine.

    ``figures``: the beats also carry the app middleware's request figures.
    """
    settings = settings or sc.settings
    path = policy_path(policy)
    clock = FakeClock(sc.trace.start)
    world = _world(sc, sc.need[0])
    probe = SimProbe(
        world, clock, settings.heartbeat_timeout, keep=keep, figures=figures, seed=sc.seed
    )
    scaler = SimScaler(world, clock)
    decision = build_backend("DECISION_BACKEND", path, settings)
    engine = Engine(
        settings,
        clock=clock,
        probe=probe,
        policy=decision,
        scaler=scaler,
        notifiers=[],
        notify_async=False,
    )
    interval = settings.heartbeat_interval_in_seconds
    beats = int(sc.trace.duration_s // interval)
    tick, advance = engine.tick, clock.advance
    for _ in range(beats):
        tick()
        advance(interval)
    world.advance(sc.trace.duration_s)
    series = None
    if probe.beats is not None:
        ts = [b[0] for b in probe.beats]
        counts = [b[2] for b in probe.beats]
        series = Series(
            ts, [world.rps_now(t) for t in ts], counts, probe.serving, [b[1] for b in probe.beats]
        )
    metrics = _metrics(sc, label or policy, world, interval, probe.serving, oracle_hours)
    return Result(metrics, series)


def run_plan(
    sc: Scenario,
    plan: oracle.Plan,
    label: str,
    *,
    oracle_hours: float | None = None,
    keep: bool = False,
) -> Result:
    """Play a fixed schedule through the same world, sampled at the same beats."""
    world = _world(sc, plan.initial)
    interval = sc.settings.heartbeat_interval_in_seconds
    beats = int(sc.trace.duration_s // interval)
    calls = list(plan.calls)
    j = 0
    serving: list[int] = []
    counts: list[int] = []
    latency: list[float | None] = []
    for i in range(beats):
        t = i * interval
        while j < len(calls) and calls[j][0] <= t:
            world.advance(calls[j][0])
            world.scale_to(calls[j][1])
            j += 1
        world.advance(t)
        serving.append(world.serving)
        if keep:
            counts.append(world.count)
            latency.append(world.sample_ms())
    for when, count in calls[j:]:
        world.advance(when)
        world.scale_to(count)
    world.advance(sc.trace.duration_s)
    series = None
    if keep:
        ts = [i * interval for i in range(beats)]
        series = Series(ts, [world.rps_now(t) for t in ts], counts, serving, latency)
    return Result(_metrics(sc, label, world, interval, serving, oracle_hours), series)


def run_bounds(sc: Scenario, *, keep: bool = False) -> tuple[Result, Result]:
    """(oracle, static peak) for the scenario."""
    plan = oracle.oracle_plan(sc.need, sc.trace.step_s, sc.model.boot_seconds)
    best = run_plan(sc, plan, ORACLE_INFEASIBLE if sc.short else "oracle", keep=keep)
    hours = best.metrics.dyno_hours
    best = dataclasses.replace(best, metrics=dataclasses.replace(best.metrics, vs_oracle=1.0))
    static = run_plan(sc, oracle.static_plan(sc.need), "static", oracle_hours=hours, keep=keep)
    return best, static


def _metrics(
    sc: Scenario,
    label: str,
    world: World,
    interval: float,
    serving: list[int],
    oracle_hours: float | None,
) -> Metrics:
    hours = world.dyno_seconds / 3600.0
    step = sc.trace.step_s
    need = sc.need
    last = len(need) - 1
    # Capacity, not an empty queue: a backlog queued before the new dynos served stays
    # on its dynos and drains after (random routing cannot move it); that shows in slow %.
    enough = [s >= need[min(last, int(i * interval // step))] for i, s in enumerate(serving)]
    reactions = reaction_times(sc.events, interval, enough)
    requests = world.requests or math.inf
    return Metrics(
        policy=label,
        trace=sc.trace.name,
        seed=sc.seed,
        dyno_hours=hours,
        vs_oracle=hours / oracle_hours if oracle_hours else math.nan,
        slow_pct=100.0 * world.slow / requests,
        timeout_pct=100.0 * world.timeouts / requests,
        scales=len(world.scales),
        reversals=reversals(world.scales),
        reaction_s=median_or_none(reactions),
    )

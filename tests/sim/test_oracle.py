"""The oracle: the cheapest schedule that serves the need, given the boot delay."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autoscalebot.config import build_settings
from autoscalebot.sim import oracle, runner, traces
from autoscalebot.sim.model import AppModel, World
from autoscalebot.sim.oracle import Plan, oracle_plan, static_plan

STEP = 60.0


def play(plan: Plan, need: list[int], boot: float) -> tuple[World, list[int]]:
    """Play a plan in a world; return it and the serving count at the end of each step."""
    model = AppModel(boot_seconds=boot)
    world = World(model, [1.0] * len(need), STEP, target_ms=1000.0, dynos=plan.initial)
    serving = []
    calls = list(plan.calls)
    for i in range(len(need)):
        while calls and calls[0][0] <= i * STEP:
            when, count = calls.pop(0)
            world.advance(when)
            world.scale_to(count)
        world.advance(i * STEP + 1e-6)
        serving.append(world.serving)
    for when, count in calls:
        world.advance(when)
        world.scale_to(count)
    world.advance(len(need) * STEP)
    return world, serving


def lookahead_plan(need: list[int], boot: float) -> Plan:
    """A feasible plan without merging: at each step, what any step within one boot needs."""
    reach = int(boot // STEP) + 1
    counts = [max(need[i : i + reach + 1]) for i in range(len(need))]
    calls = []
    current = max(need[: reach + 1])
    for i, c in enumerate(counts):
        if c != current:
            calls.append((i * STEP, c))
            current = c
    return Plan(max(need[: reach + 1]), tuple(calls))


def test_levels_are_bridged_only_when_the_gap_is_shorter_than_a_boot():
    need = [1, 1, 3, 3, 1, 1, 3, 3, 1, 1]
    plan = oracle_plan(need, STEP, 45.0)
    assert plan == Plan(1, ((75.0, 3), (240.0, 1), (315.0, 3), (480.0, 1)))
    assert play(plan, need, 45.0)[0].dyno_seconds == 600 + 2 * (165 + 165)
    merged = oracle_plan(need, STEP, 150.0)
    assert merged == Plan(3, ((480.0, 1),))  # cheaper to keep two dynos over a 120 s gap
    assert play(merged, need, 150.0)[0].dyno_seconds == 600 + 2 * 480


@settings(max_examples=60, deadline=None)
@given(
    need=st.lists(st.integers(min_value=1, max_value=6), min_size=3, max_size=30),
    boot=st.sampled_from([0.0, 30.0, 45.0, 100.0, 250.0]),
)
def test_the_oracle_serves_every_step_and_costs_no_more_than_other_feasible_plans(need, boot):
    plan = oracle_plan(need, STEP, boot)
    world, serving = play(plan, need, boot)
    assert all(s >= n for s, n in zip(serving, need, strict=False))
    for other in (lookahead_plan(need, boot), static_plan(need)):
        other_world, other_serving = play(other, need, boot)
        assert all(s >= n for s, n in zip(other_serving, need, strict=False))
        assert world.dyno_seconds <= other_world.dyno_seconds + 1e-6


def test_the_oracle_meets_the_target_at_every_step_within_the_bounds():
    settings_ = build_settings({"TIME_ZONE": "UTC", "MAX_DYNOS": 60}, require_platform=False)
    trace = traces.generate("flash", days=1, seed=2)
    sc = runner.prepare(trace, settings_, seed=2)
    best, static = runner.run_bounds(sc, keep=True)
    assert best.series is not None
    for i, s in enumerate(best.series.serving):
        assert s >= sc.need[int(i * 30 // 60)]
    assert best.metrics.slow_pct < 100 * sc.slo_share
    assert static.metrics.dyno_hours >= best.metrics.dyno_hours
    assert static.metrics.vs_oracle >= 1.0


def test_schedules_in_min_and_max_dynos_bound_the_need():
    settings_ = build_settings(
        {
            "TIME_ZONE": "UTC",
            "MIN_DYNOS": {"0:00": 1, "12:00": 5},
            "MAX_DYNOS": {"0:00": 2, "12:00": 40},
        },
        require_platform=False,
    )
    trace = traces.generate("diurnal", days=1, seed=1, peak_rps=150)
    need = runner.prepare(trace, settings_).need
    assert max(need[: 12 * 60]) <= 2 and min(need[12 * 60 :]) >= 5
    bounds = oracle.bounds_per_step(trace, settings_, runner.sim_tz(settings_))
    assert bounds[0] == (1, 2) and bounds[-1] == (5, 40)

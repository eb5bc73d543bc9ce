"""The real engine on a fake clock against the simulated app."""

from __future__ import annotations

import dataclasses

import pytest

from autoscalebot.config import build_settings
from autoscalebot.sim import runner, traces


def scenario(family: str = "step", days: float = 0.5, seed: int = 1, **raw):
    settings = build_settings({"TIME_ZONE": "UTC", "MAX_DYNOS": 40, **raw}, require_platform=False)
    return runner.prepare(
        traces.generate(family, days=days, seed=seed, peak_rps=150), settings, seed=seed
    )


def test_a_run_is_repeatable_and_measured_against_the_oracle():
    sc = scenario()
    best, _ = runner.run_bounds(sc)
    a = runner.run_policy(sc, "streak", oracle_hours=best.metrics.dyno_hours).metrics
    b = runner.run_policy(sc, "streak", oracle_hours=best.metrics.dyno_hours).metrics
    assert a == b
    assert a.scales > 0 and a.vs_oracle == a.dyno_hours / best.metrics.dyno_hours


def test_the_engine_applies_its_own_rules_in_the_simulation():
    sc = scenario(MAX_DYNOS=4)
    r = runner.run_policy(sc, "adaptive", keep=True)
    assert r.series is not None
    assert max(r.series.count) <= 4  # the engine clamps every policy to MAX_DYNOS
    cooled = dataclasses.replace(sc.settings, cool_off_in_seconds=600.0)
    slow = runner.run_policy(sc, "streak", settings=cooled).metrics
    fast = runner.run_policy(sc, "streak").metrics
    assert slow.scales < fast.scales  # COOL_OFF_IN_SECONDS is the engine's, and it holds here too


def test_series_line_up_with_the_beats():
    sc = scenario(days=0.1)
    r = runner.run_policy(sc, "hpa", keep=True)
    s = r.series
    assert s is not None
    beats = int(sc.trace.duration_s // 30)
    assert len(s.t) == len(s.count) == len(s.serving) == len(s.latency_ms) == len(s.rps) == beats
    assert all(serving <= count for serving, count in zip(s.serving, s.count, strict=False))


def test_adaptive_reacts_to_steps_faster_than_the_streak_rule():
    sc = scenario(family="step", days=2, seed=3)
    best, _ = runner.run_bounds(sc)
    hours = best.metrics.dyno_hours
    adaptive = runner.run_policy(sc, "adaptive", oracle_hours=hours).metrics
    streak = runner.run_policy(sc, "streak", oracle_hours=hours).metrics
    assert adaptive.reaction_s is not None and streak.reaction_s is not None
    assert adaptive.reaction_s < streak.reaction_s
    assert adaptive.reversals < streak.reversals


def test_policy_names_come_from_the_settings_aliases_in_either_spelling():
    from autoscalebot.config.settings import BACKEND_ALIASES

    aliases = {
        alias: path
        for alias, path in BACKEND_ALIASES["DECISION_BACKEND"].items()
        if alias not in runner.NOT_WEB  # the queue policy reads job queues, not a heartbeat
    }
    assert sorted(runner.POLICIES.values()) == sorted(aliases.values())  # one table
    for alias, path in aliases.items():
        short = runner.policy_name(alias)
        assert runner.POLICIES[short] == path
        assert runner.policy_name(path) == short  # a dotted path of a known policy
        assert runner.policy_path(alias) == runner.policy_path(short) == path
    assert runner.policy_name("step-scaling") == runner.policy_name("step") == "step"
    assert runner.policy_name("heroku-autoscaling") == "heroku"
    assert runner.policy_name("my.own.Policy") == "my.own.Policy"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adaptive_serves_a_doubled_load_within_a_boot_and_two_beats(seed):
    # Calm for two hours, then twice the load for two hours, three times over.
    low = 80.0
    rps = tuple([low] * 120 + [2 * low] * 120) * 3
    events = tuple(60.0 * (120 + 240 * k) for k in range(3))
    trace = traces.Trace("x2", rps, 60.0, events=events)
    settings = build_settings({"TIME_ZONE": "UTC", "MAX_DYNOS": 60}, require_platform=False)
    sc = runner.prepare(trace, settings, seed=seed)
    m = runner.run_policy(sc, "adaptive").metrics
    budget = settings.app_boot_seconds + 2 * settings.heartbeat_interval_in_seconds
    assert m.reaction_s is not None and m.reaction_s <= budget  # 45 s + 2 x 30 s


def test_with_the_middleware_figures_adaptive_learns_a_wrong_service_time_and_concurrency():
    trace = traces.generate("diurnal", days=1.0, seed=2, peak_rps=150.0)
    settings = build_settings({"TIME_ZONE": "UTC", "MAX_DYNOS": 60}, require_platform=False)
    sc = runner.prepare(trace, settings, seed=2)
    right = runner.run_policy(sc, "adaptive", figures=True).metrics
    for wrong in (
        {"app_service_time_in_ms": 50.0},
        {"app_service_time_in_ms": 150.0},
        {"app_concurrency": 1},
        {"app_concurrency": 3},
    ):
        off = dataclasses.replace(sc.settings, **wrong)
        m = runner.run_policy(sc, "adaptive", settings=off, figures=True).metrics
        assert m.dyno_hours == pytest.approx(right.dyno_hours, rel=0.05), wrong
        assert m.slow_pct == pytest.approx(right.slow_pct, rel=0.25, abs=0.2), wrong
    # Without the figures the same mistake costs far more than 5 %: twice that, at least.
    blind = runner.run_policy(
        sc, "adaptive", settings=dataclasses.replace(sc.settings, app_service_time_in_ms=50.0)
    ).metrics
    assert blind.dyno_hours > 1.1 * right.dyno_hours

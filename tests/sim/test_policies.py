"""Each decision backend's characteristic behaviour, beat by beat."""

from __future__ import annotations

from typing import Any

import pytest

from autoscalebot.backends.base import Bounds, Measurement, Policy
from autoscalebot.backends.policies.adaptive import AdaptivePolicy
from autoscalebot.backends.policies.heroku import HerokuAutoscalingPolicy
from autoscalebot.backends.policies.hpa import HPAPolicy
from autoscalebot.backends.policies.judoscale import JudoscalePolicy
from autoscalebot.backends.policies.queueing import mean_ratio
from autoscalebot.backends.policies.step import StepScalingPolicy
from autoscalebot.config import ConfigError, build_settings
from autoscalebot.sim.runner import POLICIES

BOUNDS = Bounds(1, 100)


def make(cls: type, **overrides: Any):
    return cls(build_settings({"TIME_ZONE": "UTC", **overrides}, require_platform=False))


def beat(ms: float | None) -> Measurement:
    return (
        Measurement(ms, status=200)
        if ms is not None
        else Measurement(None, error="timed out after 2 s")
    )


class Driver:
    """Feeds beats every 30 s and applies what the policy wants, like the engine (reset after a scale)."""

    def __init__(self, policy: Any, current: int) -> None:
        self.policy = policy
        self.current = current
        self.now = 0.0
        self.scales: list[tuple[float, int, int]] = []

    def run(self, ms: float | None, beats: int = 1, every: float = 30.0) -> None:
        for _ in range(beats):
            v = self.policy.observe(beat(ms), current=self.current, bounds=BOUNDS, now=self.now)
            if v.wanted is not None and BOUNDS.clamp(v.wanted) != self.current:
                self.scales.append((self.now, self.current, BOUNDS.clamp(v.wanted)))
                self.current = BOUNDS.clamp(v.wanted)
                self.policy.reset()
            self.now += every


@pytest.mark.parametrize("path", POLICIES.values())
def test_every_policy_is_a_decision_backend(path):
    from autoscalebot.engine.loading import import_string

    cls = import_string("DECISION_BACKEND", path)
    policy = cls(build_settings({}, require_platform=False))
    assert isinstance(policy, Policy)
    policy.configure(build_settings({"MAX_RESPONSE_TIME_IN_MS": 800}, require_platform=False))
    policy.reset()
    verdict = policy.observe(beat(100.0), current=2, bounds=BOUNDS, now=0.0)
    assert verdict.outcome == "pass"


@pytest.mark.parametrize(
    "alias", ["adaptive", "hpa", "step-scaling", "judoscale", "heroku-autoscaling"]
)
def test_aliases_select_the_new_policies(alias):
    settings = build_settings({"DECISION_BACKEND": alias}, require_platform=False)
    assert settings.decision_backend in POLICIES.values()


def test_a_bad_app_setting_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="APP_SERVICE_TIME_IN_MS"):
        make(AdaptivePolicy, APP_SERVICE_TIME_IN_MS="fast")
    with pytest.raises(ConfigError, match="TARGET_PERCENTILE"):
        make(HPAPolicy, TARGET_PERCENTILE=100.5)


# ---- HPA ----


def test_hpa_scales_up_at_once_but_waits_the_stabilisation_window_to_scale_down():
    d = Driver(make(HPAPolicy), current=10)
    d.run(None, beats=1)  # a timeout: about 100 % busy, target 84 %
    assert d.scales == [(0.0, 10, 12)]
    d.run(60.0, beats=9)  # fast: the metric wants 1, but a 12 was recommended 30 s ago
    assert len(d.scales) == 1
    d.run(60.0, beats=2)  # 300 s after the last high recommendation
    assert len(d.scales) == 2 and d.scales[1][2] < 12
    assert 300.0 <= d.scales[1][0] <= 330.0


def test_hpa_rate_limits_scale_up_and_keeps_within_tolerance():
    d = Driver(make(HPAPolicy, APP_SERVICE_TIME_IN_MS=500), current=2)  # cannot meet 1 s at all
    d.run(None)
    assert d.scales[0][1:] == (2, 6)  # at most max(100 %, 4 pods) per period
    p = make(HPAPolicy)
    # 305 ms means ~82 % busy (M/M/2, 100 ms service), within 10 % of the 84 % target.
    v = p.observe(beat(305.0), current=5, bounds=BOUNDS, now=0.0)
    assert v.wanted is None


def test_hpa_rate_limits_scale_up_per_15_s_period_not_per_beat():
    # Kubernetes: at most max(+4 pods, +100 %) over any 15 s, however often it looks.
    d = Driver(make(HPAPolicy, APP_SERVICE_TIME_IN_MS=500), current=1)
    d.run(None, beats=15, every=1.0)  # 0..14 s
    assert d.scales == [(0.0, 1, 5)]
    d.run(None, beats=15, every=1.0)  # 15..29 s: the period of the first scale is over
    assert d.scales == [(0.0, 1, 5), (15.0, 5, 10)]


@pytest.mark.parametrize("percentile", [60.0, 80.0, 85.0])
def test_hpa_scales_up_on_a_timed_out_beat_even_with_a_hot_target(percentile):
    # At p85 or less the target is over 90 % busy: a pegged metric is within 10 % of it.
    d = Driver(make(HPAPolicy, TARGET_PERCENTILE=percentile), current=4)
    d.run(None)
    assert d.scales and d.scales[0][1:] == (4, 5)


# ---- AWS step scaling ----


def test_step_scaling_waits_for_three_breaching_minutes_and_steps_by_the_breach():
    d = Driver(make(StepScalingPolicy), current=4)
    d.run(1400.0, beats=6)  # periods 0, 1, 2 breach; evaluated when period 3 opens
    assert d.scales == []
    d.run(1400.0)
    assert d.scales == [(180.0, 4, 5)]  # 40 % over: one step
    d = Driver(make(StepScalingPolicy), current=4)
    d.run(2600.0, beats=7)
    assert d.scales == [(180.0, 4, 7)]  # over +100 %: three


def test_step_scaling_cooldown_counts_the_last_scale_out_and_blocks_scale_in():
    d = Driver(make(StepScalingPolicy), current=4)
    d.run(1400.0, beats=7)
    d.run(2600.0, beats=2)  # in cooldown: 3 wanted, 1 already added
    assert [s[1:] for s in d.scales] == [(4, 5), (5, 7)]
    d.run(50.0, beats=30)  # 15 quiet minutes, but the cooldown runs from the last scale-out
    assert all(after > before for _, before, after in d.scales)
    d.run(50.0, beats=4)
    assert d.scales[-1][1:] == (7, 6)


@pytest.mark.parametrize("interval", [90.0, 120.0])
def test_step_scaling_periods_are_at_least_one_beat_long(interval):
    # With a 60 s period a 90 s or 120 s beat leaves periods empty (missing data), so
    # three breaching periods in a row never happened. A period holds at least one beat.
    d = Driver(make(StepScalingPolicy, HEARTBEAT_INTERVAL_IN_SECONDS=interval), current=4)
    d.run(1400.0, beats=3, every=interval)  # periods 0, 1, 2 breach
    assert d.scales == []
    d.run(1400.0, every=interval)  # period 3 opens: the alarm fires
    assert d.scales == [(3 * interval, 4, 5)]
    d.run(50.0, beats=16, every=interval)
    assert d.scales[1][1:] == (5, 4)  # and the scale-in alarm works too


# ---- Judoscale ----


def test_judoscale_upscales_at_most_every_three_minutes():
    d = Driver(make(JudoscalePolicy), current=3)
    d.run(1500.0, beats=7)  # 0..180 s
    assert [s[0] for s in d.scales] == [0.0, 180.0]


def test_judoscale_downscales_after_ten_quiet_minutes_then_once_per_ten():
    d = Driver(make(JudoscalePolicy), current=5)
    d.run(100.0, beats=20)
    assert d.scales == []
    d.run(100.0, beats=1)
    assert d.scales == [(600.0, 5, 4)]
    d.run(100.0, beats=20)
    assert d.scales[-1] == (1200.0, 4, 3)
    d.run(300.0, beats=40)  # between the thresholds: nothing
    assert len(d.scales) == 2


class PausedDriver(Driver):
    """A Driver whose engine refuses every scale until ``resume_at`` (paused, or at MAX)."""

    def __init__(self, policy: Any, current: int, resume_at: float) -> None:
        super().__init__(policy, current)
        self.resume_at = resume_at
        self.refused: list[float] = []

    def run(self, ms: float | None, beats: int = 1, every: float = 30.0) -> None:
        for _ in range(beats):
            v = self.policy.observe(beat(ms), current=self.current, bounds=BOUNDS, now=self.now)
            if v.wanted is not None and v.wanted != self.current:
                if self.now < self.resume_at:
                    self.refused.append(self.now)
                else:
                    self.scales.append((self.now, self.current, v.wanted))
                    self.current = v.wanted
                    self.policy.reset()
            self.now += every


def test_judoscale_starts_its_upscale_cooldown_only_when_the_count_changed():
    d = PausedDriver(make(JudoscalePolicy), current=3, resume_at=100.0)
    d.run(1500.0, beats=4)  # 0..90 s: wanted, refused
    assert d.refused
    d.run(1500.0)  # 120 s: resumed; no scale happened, so no cooldown holds it
    assert d.scales == [(120.0, 3, 4)]
    d.run(1500.0, beats=6)  # and now the cooldown runs from the real scale
    assert [s[0] for s in d.scales] == [120.0, 300.0]


def test_step_scaling_starts_its_cooldown_only_when_the_count_changed():
    d = PausedDriver(make(StepScalingPolicy), current=4, resume_at=200.0)
    d.run(1400.0, beats=7)  # the alarm fires at 180 s: refused
    assert d.refused == [180.0]
    d.run(1400.0, beats=2)  # 240 s: still in ALARM, nothing was added: add one now
    assert d.scales == [(240.0, 4, 5)]


# ---- Heroku ----


def test_heroku_adds_one_dyno_at_a_time_at_least_a_minute_apart():
    d = Driver(make(HerokuAutoscalingPolicy), current=3)
    d.run(1500.0, beats=10)
    assert [s[1:] for s in d.scales] == [(3, 4), (4, 5), (5, 6)]
    assert all(b[0] - a[0] >= 60.0 for a, b in zip(d.scales, d.scales[1:], strict=False))


def test_heroku_removes_a_dyno_after_ten_minutes_well_under_target():
    d = Driver(make(HerokuAutoscalingPolicy), current=3)
    d.run(200.0, beats=20)
    assert d.scales == []
    d.run(200.0)
    assert d.scales == [(600.0, 3, 2)]


# ---- adaptive ----


def test_adaptive_adds_several_dynos_at_once_and_waits_for_them_to_boot():
    d = Driver(make(AdaptivePolicy), current=10)
    d.run(None)  # a 2 s timeout on 10 serving dynos: ~97 % busy, target 84 %
    assert d.scales == [(0.0, 10, 12)]
    d.run(1500.0)  # slow, but the two new dynos are still booting (45 s): nothing more
    assert len(d.scales) == 1
    d.run(1500.0)  # 60 s: 12 serve now, and 1.5 s on 12 still needs more
    assert d.scales[-1] == (60.0, 12, 14)


def test_adaptive_doubles_on_a_run_of_timeouts():
    # Past saturation latency says "more", not how much; a doubled load (the usual step)
    # must be served within a boot and two beats, so the growth is twice the serving count.
    d = Driver(make(AdaptivePolicy), current=10)
    d.run(None, beats=2)  # at p95 two timeouts in a row almost never happen at the target load
    assert [s[1:] for s in d.scales] == [(10, 12), (12, 20)]  # estimate, then twice the 10
    d.run(None)  # 60 s: 12 serve, 20 still booting, the last growth 30 s ago
    assert len(d.scales) == 2
    d.run(None)  # 90 s: 20 serve and still time out: twice again
    assert d.scales[-1] == (90.0, 20, 40)


def test_adaptive_ignores_one_unlucky_beat_but_not_two():
    d = Driver(make(AdaptivePolicy), current=10)
    d.run(200.0, beats=6)  # ~70 % busy: comfortable
    d.run(800.0)  # four times the mean: rare, but it happens
    d.run(200.0, beats=2)
    assert d.scales == []
    d.run(1500.0, beats=2)  # now the lower bound of the load needs more dynos
    assert [s[1:] for s in d.scales] == [(10, 12)]


def test_adaptive_scales_down_only_after_the_down_window_and_not_below_the_need():
    d = Driver(make(AdaptivePolicy), current=10)
    # 130 ms: ~48 % busy, so 6 dynos would carry the mean. Eight beats make the evidence
    # (at 210 s); then every estimate in the 420 s down window must agree.
    d.run(130.0, beats=20)
    assert d.scales == []
    d.run(130.0, beats=1)
    assert len(d.scales) == 1
    when, before, after = d.scales[0]
    # 14 beats cannot prove the mean is the load: the upper bound keeps a few more than 6
    assert (when, before) == (600.0, 10) and 6 < after < 10


def test_adaptive_down_needs_evidence_that_the_fewer_dynos_are_not_swamped():
    # Two dynos of 2 workers at 115 ms: one would do on the mean (~70 % busy), but the beats
    # cannot rule out that one would be swamped, not in 14 beats nor in an hour: hold.
    d = Driver(make(AdaptivePolicy), current=2)
    d.run(115.0, beats=200)
    assert d.scales == []
    # Idle beats (the bare service time): an hour's evidence grows until one is shown to do.
    d = Driver(make(AdaptivePolicy), current=2)
    d.run(100.0, beats=120)
    assert [s[1:] for s in d.scales] == [(2, 1)]
    # A looser target asks for less proof: at p60 the same beats let the second dyno go.
    d = Driver(make(AdaptivePolicy, TARGET_PERCENTILE=60), current=2)
    d.run(115.0, beats=200)
    assert [s[1:] for s in d.scales] == [(2, 1)]


def test_adaptive_gives_idle_dynos_back_even_at_the_tightest_target():
    # At p99.9 latency hardly tells 10 % busy from 50 %; a bound that had to meet the
    # target would keep these 50 dynos for ever. Not being swamped is all it must show.
    d = Driver(make(AdaptivePolicy, TARGET_PERCENTILE=99.9), current=50)
    d.run(100.0, beats=400)
    assert d.current <= 10
    assert all(after < before for _, before, after in d.scales)


def test_adaptive_down_window_is_a_setting():
    d = Driver(make(AdaptivePolicy, ADAPTIVE_DOWN_WINDOW_SECONDS=120), current=10)
    d.run(130.0, beats=15)
    assert d.scales and d.scales[0][0] == 300.0


# ---- at zero dynos ----

ZERO_BOUNDS = Bounds(0, 100)
ALL_POLICIES = [
    AdaptivePolicy,
    HPAPolicy,
    StepScalingPolicy,
    JudoscalePolicy,
    HerokuAutoscalingPolicy,
]


def _drive_from_zero(cls: type, ms: float | None, beats: int) -> list[int]:
    policy = make(cls, MIN_DYNOS=0)
    current, counts = 0, []
    for i in range(beats):
        v = policy.observe(beat(ms), current=current, bounds=ZERO_BOUNDS, now=30.0 * i)
        if v.wanted is not None and ZERO_BOUNDS.clamp(v.wanted) != current:
            current = ZERO_BOUNDS.clamp(v.wanted)
            counts.append(current)
            policy.reset()
    return counts


@pytest.mark.parametrize("cls", ALL_POLICIES)
def test_every_policy_scales_up_from_zero_dynos_when_the_beat_fails(cls):
    # Connection refused at 0 dynos: no division by zero, and at least one dyno asked for.
    counts = _drive_from_zero(cls, None, beats=20)
    assert counts and counts[0] >= 1


def test_adaptive_asks_for_a_dyno_on_the_first_failing_beat_at_zero():
    p = make(AdaptivePolicy, MIN_DYNOS=0)
    v = p.observe(beat(None), current=0, bounds=ZERO_BOUNDS, now=0.0)
    assert v.wanted is not None and v.wanted >= 1
    p = make(AdaptivePolicy, MIN_DYNOS=0)
    v = p.observe(beat(1500.0), current=0, bounds=ZERO_BOUNDS, now=0.0)  # slow also counts
    assert v.wanted is not None and v.wanted >= 1


@pytest.mark.parametrize("cls", ALL_POLICIES)
def test_no_policy_scales_up_from_zero_on_fast_beats(cls):
    assert _drive_from_zero(cls, 50.0, beats=40) == []


def test_heroku_p95_is_the_nearest_rank():
    from autoscalebot.backends.policies.heroku import p95

    # Nearest rank: the ceil(0.95 n)-th smallest value.
    assert p95([float(i) for i in range(1, 20)]) == 19.0  # n=19: rank ceil(18.05) = 19
    assert p95([float(i) for i in range(1, 21)]) == 19.0  # n=20: rank 19
    assert p95([float(i) for i in range(1, 101)]) == 95.0
    assert p95([5.0]) == 5.0
    assert p95([1.0, 2.0]) == 2.0


def test_adaptive_follows_a_load_that_repeats_every_12_minutes_down_and_ahead_up():
    """Six minutes busy, six calm: the down window (7 min) alone would never let a dyno
    go. Once the last cycles show the wave, dynos go back as each busy phase ends and
    come again a boot ahead of the next."""
    policy = make(AdaptivePolicy, APP_SERVICE_TIME_IN_MS=100, APP_CONCURRENCY=2)
    current, scales = 4, []

    def latency(t: float) -> float:
        load = 60.0 if t % 720.0 < 360.0 else 15.0  # requests per second
        rho = min(0.97, load / (current * 20.0))  # 2 workers of 100 ms: 20 rps a dyno
        return 100.0 * mean_ratio(2, rho)

    for i in range(6 * 120):  # six hours of beats every 30 s
        now = i * 30.0
        v = policy.observe(
            Measurement(latency(now), status=200), current=current, bounds=BOUNDS, now=now
        )
        if v.wanted is not None and v.wanted != current:
            scales.append((now, current, v.wanted, v.reason))
            current = v.wanted
            policy.reset()
    late = [s for s in scales if s[0] >= 5 * 3600]  # the last hour: the wave is known
    downs = [s for s in late if s[2] < s[1]]
    ups = [s for s in late if s[2] > s[1]]
    assert downs and all("repeats every 12 min" in s[3] for s in downs)
    assert all(s[0] % 720.0 >= 360.0 for s in downs)  # in the calm, not in the busy phase
    assert any(s[0] % 720.0 < 480.0 for s in downs)  # the first in its first two minutes
    assert ups and all(s[0] % 720.0 >= 480.0 for s in ups)  # late in the calm: ahead of the busy
    assert all("every 12 min" in s[3] for s in ups)

"""Operator commands, dry-run, cool-off, drift: the gates between a decision and a call."""

from autoscalebot.backends.base import ScalerError
from autoscalebot.engine.commands import ForceScale, Pause, RefreshCount, Resume, UpdateSettings

SLOW, FAST, OK = 1500, 100, 500


def run(h, command):
    h.engine.submit(command)
    h.engine.apply_commands()


def test_pause_stops_scaling_but_not_beats(harness):
    h = harness(count=1)
    run(h, Pause())
    h.beats(*[SLOW] * 6)
    assert h.scaler.requests == []
    assert len(h.of("beat")) == 6
    assert {d.action for d in h.of("decision")} == {"paused"}
    run(h, Resume())
    h.beats(SLOW)
    assert h.scaler.requests == [2]


def test_force_scale_up_is_clamped_logged_as_manual_and_holds(harness):
    h = harness(count=2, MAX_DYNOS=3, MANUAL_HOLD_IN_SECONDS=120)
    run(h, ForceScale(delta=+1))
    assert h.scaler.requests == [3]
    (scaled,) = h.of("scale")
    assert scaled.manual
    run(h, ForceScale(delta=+1))  # at max: refused, no call
    assert h.scaler.requests == [3]
    assert h.of("operator")[-1].accepted is False
    h.beats(*[FAST] * 5, every=10)  # within the hold: no automatic scale
    assert h.scaler.requests == [3]
    assert h.of("decision")[-1].action == "hold"
    assert h.engine.status().hold_until is not None
    h.clock.advance(120)
    h.beats(FAST)
    assert h.scaler.requests == [3, 2]


def test_force_scale_works_while_paused_and_automatic_scaling_stays_paused(harness):
    # Pause, then drive by hand: the pause stops automatic scaling only.
    h = harness(count=1, MAX_DYNOS=4, MANUAL_HOLD_IN_SECONDS=60)
    run(h, Pause())
    run(h, ForceScale(delta=+1))
    assert h.scaler.requests == [2]
    answer = h.of("operator")[-1]
    assert answer.accepted and "stays paused" in answer.detail
    (scaled,) = h.of("scale")
    assert scaled.manual and (scaled.before, scaled.after) == (1, 2)
    h.clock.advance(120)  # past the manual hold: only the pause holds now
    h.beats(*[1500] * 6)
    assert h.scaler.requests == [2]
    assert {d.action for d in h.of("decision")} == {"paused"}
    assert h.engine.status().paused


def test_force_scale_refused_in_dry_run(harness):
    h = harness(count=1, DRY_RUN=True)
    run(h, ForceScale(delta=+1))
    run(h, ForceScale(to=5, override=True))
    assert h.scaler.requests == []
    assert [a.accepted for a in h.of("operator")] == [False, False]
    assert "dry-run" in h.of("operator")[-1].detail


def test_explicit_override_may_leave_bounds(harness):
    h = harness(count=1, MAX_DYNOS=3)
    run(h, ForceScale(to=6, override=True))
    assert h.scaler.requests == [6]
    assert "override" in h.of("scale")[-1].reason
    run(h, ForceScale(to=6))  # without override, clamped to max
    assert h.scaler.requests == [6, 3]


def test_dry_run_decides_but_never_calls(harness):
    h = harness(count=1, DRY_RUN=True)
    h.beats(*[SLOW] * 6)
    assert h.scaler.requests == []
    assert [d.action for d in h.of("decision")] == ["dry-run", "dry-run"]
    assert h.engine.current == 1


def test_cool_off_spaces_automatic_scales(harness):
    h = harness(count=1, MAX_DYNOS=5, COOL_OFF_IN_SECONDS=300, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)
    h.beats(SLOW, SLOW, SLOW)  # 30 s apart: only the first scales
    assert h.scaler.requests == [2]
    assert h.of("decision")[-1].action == "cooling"
    assert h.engine.status().cooling_until is not None
    h.clock.advance(300)
    h.beats(SLOW)
    assert h.scaler.requests == [2, 3]


def test_update_settings_applies_and_refuses_bad_values(harness):
    h = harness(count=1)
    run(h, UpdateSettings({"MAX_RESPONSE_TIME_IN_MS": 400}))
    h.beats(500, 500, 500)
    assert h.scaler.requests == [2]
    run(h, UpdateSettings({"MIN_RESPONSE_TIME_IN_MS": 900}))  # not below MAX
    last = h.of("operator")[-1]
    assert not last.accepted and "MIN_RESPONSE_TIME_IN_MS" in last.detail
    assert h.engine.settings.min_response_time_in_ms == 200


def test_drift_is_noticed_at_refresh_and_resets_streaks(harness):
    h = harness(count=2, COUNT_REFRESH_IN_SECONDS=60, MAX_DYNOS=5)
    h.beats(SLOW, SLOW)
    h.scaler.count = 4  # scaled by hand
    h.clock.advance(60)
    h.beats(SLOW)
    (drift,) = h.of("drift")
    assert (drift.recorded, drift.actual) == (2, 4)
    assert h.engine.current == 4
    assert h.scaler.requests == []


def test_stale_count_is_rechecked_before_scaling(harness):
    h = harness(count=2, COUNT_REFRESH_IN_SECONDS=3600, MAX_DYNOS=5)
    h.beats(SLOW, SLOW)
    h.scaler.count = 5  # by hand, before the next refresh is due
    h.beats(SLOW)
    assert h.scaler.requests == []  # no PATCH from the stale 2 to 3
    assert h.engine.current == 5


def test_failed_scale_changes_no_recorded_count(harness):
    h = harness(count=1)
    h.scaler.fail_next = [ScalerError("Heroku 500", kind="server")]
    h.beats(SLOW, SLOW, SLOW)
    assert h.scaler.requests == [2]
    assert h.engine.current == 1
    h.beats(SLOW)  # tried again on the next beat
    assert h.scaler.requests == [2, 2] and h.engine.current == 2


def test_rate_limit_backs_off(harness):
    h = harness(count=1, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)
    h.scaler.fail_next = [ScalerError("Heroku 429 rate_limit", kind="rate_limited", retry_after=60)]
    h.beats(SLOW, SLOW, every=30)
    assert h.scaler.requests == [2]  # the second beat fell inside the back-off
    assert h.of("decision")[-1].action == "backoff"
    h.clock.advance(30)
    h.beats(SLOW)
    assert h.scaler.requests == [2, 2]


def test_unknown_count_makes_no_decision_and_is_retried_every_beat(harness):
    h = harness(count=1, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)
    h.scaler.fail_reads = [ScalerError("Heroku 503", kind="server")] * 2
    h.beats(SLOW)  # start and first beat: count unknown
    assert h.scaler.requests == [] and h.engine.current is None
    h.beats(SLOW)  # read works on the next beat
    assert h.scaler.requests == [2]
    assert [t.source for t in h.of("trouble")] == ["platform"]
    assert [r.source for r in h.of("recovered")] == ["platform"]


def test_refresh_command_reads_the_count(harness):
    h = harness(count=1)
    h.engine.start()
    h.scaler.count = 3
    run(h, RefreshCount())
    assert h.engine.current == 3


def test_pause_holds_for_the_beat_in_flight(harness):
    h = harness(count=1, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)

    class PausesMidBeat:
        def measure(self):
            h.engine.submit(Pause())  # the operator presses p while the beat is slow
            from autoscalebot.backends.base import Measurement

            return Measurement(1500.0, status=200)

        def close(self):
            pass

    h.engine.probe = PausesMidBeat()
    h.engine.tick()
    assert h.scaler.requests == []
    assert h.of("decision")[-1].action == "paused"
    assert h.of("operator")[-1].action == "pause"

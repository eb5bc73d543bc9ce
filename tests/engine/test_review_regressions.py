"""Regressions found in review: each was a confirmed failing scenario first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoscalebot.backends.base import ScalerError
from autoscalebot.config import ConfigError
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.commands import ForceScale, Pause, UpdateSettings
from autoscalebot.engine.loading import build_backend
from tests.conftest import Harness

SLOW, FAST, OK = 1500.0, 100.0, 500.0


def run(h, command):
    h.engine.submit(command)
    h.engine.apply_commands()


def test_pause_during_the_pre_scale_reread_stops_the_scale():
    h = Harness(count=1, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)
    h.engine.start()
    real_current = h.scaler.current

    def slow_read():
        h.engine.submit(Pause())  # the operator pauses while the GET is in flight
        return real_current()

    h.scaler.current = slow_read
    h.beats(SLOW)
    assert h.scaler.requests == []
    assert h.of("decision")[-1].action == "paused"


def test_schedule_boundary_during_the_reread_is_honoured():
    h = Harness(count=4, MAX_DYNOS={"9:00": 5, "17:00": 2}, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)
    h.clock = h.engine.clock = FakeClock(datetime(2026, 1, 5, 16, 59, 59, tzinfo=UTC))
    h.engine.start()
    real_current = h.scaler.current

    def read_that_takes_two_seconds():
        h.clock.advance(2)  # now past 17:00: max is 2
        return real_current()

    h.scaler.current = read_that_takes_two_seconds
    h.beats(SLOW)
    assert h.scaler.requests and all(q <= 2 for q in h.scaler.requests)


def test_scale_failed_is_notified_when_the_api_is_down_entirely():
    h = Harness(count=1, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1, NOTIFY_ON_SCALE_FAILS=True)
    h.engine.start()
    h.scaler.fail_reads = [ScalerError("Heroku API unreachable", kind="network")] * 10
    h.beats(SLOW, SLOW, SLOW)
    assert len(h.notes("scale_failed")) == 1
    assert "re-read" in h.of("scale_failed")[0].reason


def test_forced_scale_that_fails_is_answered():
    h = Harness(count=1)
    h.engine.start()
    h.scaler.fail_next = [ScalerError("Heroku 503", kind="server")]
    run(h, ForceScale(delta=1))
    assert h.of("operator")[-1].accepted is False
    assert h.engine.current == 1


def test_secrets_and_platform_settings_are_not_changed_or_echoed_at_run_time():
    h = Harness(count=1)
    run(h, UpdateSettings({"HEROKU_API_KEY": "sk-SECRET-123", "HEROKU_APP_NAME": "other"}))
    action = h.of("operator")[-1]
    assert not action.accepted and "sk-SECRET-123" not in action.detail
    assert h.engine.settings.heroku_api_key == "test-key"


def test_new_thresholds_reach_the_probe():
    from autoscalebot.backends.probe import HeartbeatProbe
    from autoscalebot.emulator.heartbeat import HeartbeatServer
    from tests.conftest import make_settings

    with HeartbeatServer() as server:
        server.set(latency=0.4)  # past a 0.2 s timeout (MAX 100 ms), inside a 2 s one
        probe = HeartbeatProbe(
            make_settings(
                MAX_RESPONSE_TIME_IN_MS=100,
                MIN_RESPONSE_TIME_IN_MS=10,
                HEARTBEAT_URL=server.heartbeat_url,
            )
        )
        h = Harness(count=1, MAX_RESPONSE_TIME_IN_MS=100, MIN_RESPONSE_TIME_IN_MS=10)
        h.engine.probe = probe
        assert probe.measure().error  # timed out
        run(h, UpdateSettings({"MAX_RESPONSE_TIME_IN_MS": 1000}))
        answered = probe.measure()
        assert answered.error is None and answered.latency_ms >= 400
        probe.close()


def test_an_override_holds_for_the_announced_hold():
    h = Harness(count=2, MAX_DYNOS=5, MANUAL_HOLD_IN_SECONDS=300)
    run(h, ForceScale(to=8, override=True))
    h.beats(OK, OK, OK)  # 90 s: inside the hold, the bot leaves the operator's 8 alone
    assert h.scaler.requests == [8]
    h.clock.advance(300)
    h.beats(OK)
    assert h.scaler.requests == [8, 5]


def test_scale_difference_notifies_again_in_a_later_episode():
    h = Harness(
        count=1,
        MAX_DYNOS=10,
        NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1,
        NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER=1,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD=2,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES=5,
    )
    h.beats(SLOW, SLOW, SLOW)  # +3 within 5 min: episode 1
    h.beats(*[OK] * 12)  # 6 quiet minutes: the window empties, the episode ends
    h.beats(FAST, FAST, FAST)  # -3: episode 2
    assert len(h.notes("scale_diff")) == 2


def test_platform_error_finding_the_app_url_is_not_a_slow_beat():
    class NeedsAppUrl:
        def measure(self):
            raise ScalerError("Heroku 429 rate_limit on GET /apps/x", kind="rate_limited")

        def close(self):
            pass

    h = Harness(count=1, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1)
    h.engine.probe = NeedsAppUrl()
    for _ in range(3):
        h.engine.tick()
        h.clock.advance(20)  # within the minute before the first reminder
    assert h.scaler.requests == []
    # Each beat is still logged, with the cause, but counts towards no streak.
    beats = h.of("beat")
    assert [b.latency_ms for b in beats] == [None] * 3
    assert all("app URL unknown" in b.error and b.streaks == {} for b in beats)
    assert [t.source for t in h.of("trouble")] == ["app-url"]


def test_a_policy_that_raises_on_reset_does_not_stop_the_loop():
    h = Harness(count=1)

    def broken_reset():
        raise RuntimeError("policy bug")

    h.engine.policy.reset = broken_reset
    h.beats(SLOW, SLOW, SLOW, SLOW)
    assert h.scaler.requests[0] == 2  # streaks not forgotten: the broken policy's business
    assert len(h.of("beat")) == 4
    assert [t.source for t in h.of("trouble")] == ["policy"]


def test_an_overrun_of_exactly_one_interval_runs_the_on_time_slot():
    from tests.engine.test_loop import make

    engine, probe, _ = make(interval=10, cost=10, stop_after=3)
    engine.run()
    assert probe.times == [0, 10, 20]


@pytest.mark.parametrize(
    "source, words",
    [
        ("raise ValueError('bad option')", "ValueError: bad option"),
        ("def broken(:\n    pass", "syntax error"),
    ],
)
def test_backend_modules_that_fail_are_config_errors(tmp_path, monkeypatch, source, words):
    module = f"my_backend_mod_{abs(hash(source))}"
    (tmp_path / f"{module}.py").write_text(
        "class B:\n    def __init__(self, settings, **kw):\n        "
        + source.replace("\n", "\n        ")
        if "raise" in source
        else source
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=words):
        build_backend("SCALING_BACKEND", f"{module}.B", None)


def test_headless_cli_exits_non_zero_when_the_engine_crashes():
    from autoscalebot.cli import run_headless
    from autoscalebot.logfmt import LogfmtSink
    from autoscalebot.runtime import EngineThread

    h = Harness(count=1)

    def crash():
        raise RuntimeError("engine bug")

    h.engine.start = crash
    import io

    assert run_headless(EngineThread(h.engine), LogfmtSink(io.StringIO()), duration=5) == 1


def test_logfmt_escapes_control_characters_and_keeps_its_own_fields():
    from autoscalebot.engine import events as ev
    from autoscalebot.logfmt import fields, format_value

    assert format_value("a\nb\rc\x1b") == '"a\\nb\\rc\\x1b"'
    beat = ev.Beat(
        at=datetime(2026, 1, 5, tzinfo=UTC),
        latency_ms=1.0,
        status=200,
        error=None,
        outcome="ok",
        streaks={"event": (1, 3), "at": (2, 3)},  # a policy's odd streak names
        current=1,
    )
    pairs = fields(beat)
    assert pairs["event"] == "beat" and pairs["at"].startswith("2026-01-05")

"""Every NOTIFY_* rule, and episodes that notify once, not every beat."""

import threading

from autoscalebot.backends.base import ScalerError
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine

SLOW, FAST, OK = 1500, 100, 500


def test_needs_exceed_max_notifies_once_per_episode(harness):
    h = harness(count=3, MAX_DYNOS=3)
    h.beats(*[SLOW] * 8)
    assert len(h.notes("needs_above_max")) == 1
    note = h.notes("needs_above_max")[0]
    assert "MAX_DYNOS (3)" in note.message and "beats over 1000 ms" in note.reason
    h.beats(OK, *[SLOW] * 3, OK, SLOW)  # ok beats in a jittery overload: the same episode
    assert len(h.notes("needs_above_max")) == 1
    h.beats(FAST, *[SLOW] * 3)  # a fast beat ended it; a new one began
    assert len(h.notes("needs_above_max")) == 2


def test_needs_exceed_max_can_be_turned_off(harness):
    h = harness(count=3, MAX_DYNOS=3, NOTIFY_IF_NEEDS_EXCEED_MAX=False)
    h.beats(*[SLOW] * 5)
    assert h.notes() == []


def test_needs_below_min_only_when_min_above_one_and_enabled(harness):
    h = harness(count=2, MIN_DYNOS=2, NOTIFY_IF_NEEDS_BELOW_MIN=True)
    h.beats(*[FAST] * 12)
    assert len(h.notes("needs_below_min")) == 1
    h2 = harness(count=1, MIN_DYNOS=1, NOTIFY_IF_NEEDS_BELOW_MIN=True)
    h2.beats(*[FAST] * 12)
    assert h2.notes() == []
    h3 = harness(count=2, MIN_DYNOS=2)  # default off
    h3.beats(*[FAST] * 12)
    assert h3.notes() == []


def test_every_scale(harness):
    h = harness(count=1, NOTIFY_ON_EVERY_SCALE=True)
    h.beats(SLOW, SLOW, SLOW, *[FAST] * 5)
    kinds = [(n.kind, n.counts) for n in h.notes()]
    assert kinds == [("scale", {"before": 1, "after": 2}), ("scale", {"before": 2, "after": 1})]


def test_every_scale_off_by_default(harness):
    h = harness(count=1)
    h.beats(SLOW, SLOW, SLOW)
    assert h.notes() == []


def test_every_ping(harness):
    h = harness(count=1, NOTIFY_ON_EVERY_PING=True)
    h.beats(OK, OK, OK)
    assert [n.kind for n in h.notes()] == ["ping"] * 3


def test_scale_fails_notifies_once_per_episode_and_on_recovery(harness):
    h = harness(count=1, NOTIFY_ON_SCALE_FAILS=True)
    h.scaler.fail_next = [ScalerError("Heroku 503 on PATCH", kind="server")] * 3
    h.beats(*[SLOW] * 5)  # three attempts fail, one after each further slow beat
    assert len(h.notes("scale_failed")) == 1
    assert h.engine.current == 1
    h.beats(SLOW)
    assert h.engine.current == 2
    assert [n.kind for n in h.notes()] == ["scale_failed", "recovered"]


def test_scale_fails_silent_by_default_but_reported_as_event(harness):
    h = harness(count=1)
    h.scaler.fail_next = [ScalerError("Heroku 422 invalid_params", kind="invalid")]
    h.beats(SLOW, SLOW, SLOW)
    assert h.notes() == []
    (failed,) = h.of("scale_failed")
    assert "422" in failed.reason and failed.target == 2
    assert [t.source for t in h.of("trouble")] == ["scale"]


def test_scale_diff_threshold_within_period(harness):
    h = harness(
        count=1,
        MAX_DYNOS=10,
        NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD=3,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES=30,
    )
    h.beats(SLOW, SLOW, SLOW)  # +3 within the period: not more than 3
    assert h.notes() == []
    h.beats(SLOW, SLOW)  # +4, +5: one notification for the episode
    (note,) = h.notes("scale_diff")
    assert note.counts == {"moved": 4, "threshold": 3}


def test_scale_diff_forgets_changes_older_than_the_period(harness):
    h = harness(
        count=1,
        MAX_DYNOS=10,
        NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD=2,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES=1,
    )
    h.beats(SLOW, SLOW, every=61)
    h.beats(SLOW, SLOW, every=61)
    assert h.notes() == []


def test_scale_diff_threshold_can_follow_a_schedule(harness):
    h = harness(
        count=1,
        MAX_DYNOS=10,
        NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD={"0:00": 1, "9:00": 8},
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES=30,
    )
    # The fake clock starts at 12:00 UTC: the day threshold (8) applies.
    h.beats(SLOW, SLOW, SLOW)
    assert h.notes() == []


def test_failing_backend_never_stops_the_loop_and_is_reported_once():
    class Broken:
        def send(self, note):
            raise RuntimeError("smtp down")

    from tests.conftest import MemoryScaler, ScriptedProbe, make_settings  # noqa: PLC0415

    events = []
    engine = Engine(
        make_settings(NOTIFY_ON_EVERY_PING=True),
        sink=events.append,
        clock=FakeClock(),
        probe=ScriptedProbe(),
        scaler=MemoryScaler(1),
        notifiers=[Broken()],
        notify_async=False,
    )
    for _ in range(5):
        engine.tick()
    assert len([e for e in events if e.kind == "beat"]) == 5
    troubles = [e for e in events if e.kind == "trouble"]
    assert [t.source for t in troubles] == ["notify:Broken"]
    assert "smtp down" in troubles[0].reason


def test_hanging_backend_does_not_delay_beats():
    release = threading.Event()

    class Hangs:
        def send(self, note):
            release.wait(5)

    from tests.conftest import MemoryScaler, ScriptedProbe, make_settings  # noqa: PLC0415

    engine = Engine(
        make_settings(NOTIFY_ON_EVERY_PING=True),
        clock=FakeClock(),
        probe=ScriptedProbe(),
        scaler=MemoryScaler(1),
        notifiers=[Hangs()],
    )
    done = threading.Event()

    def beats():
        for _ in range(20):
            engine.tick()
        done.set()

    threading.Thread(target=beats, daemon=True).start()
    try:
        assert done.wait(2.0), "beats were held up by a hung notification backend"
    finally:
        release.set()
        engine.close()

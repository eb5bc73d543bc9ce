"""Engine events as messages: pulses merge without losing count; words for the log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from textual.message import Message

from autoscalebot.backends.base import Notification
from autoscalebot.engine import events as ev
from autoscalebot.tui.describe import describe
from autoscalebot.tui.messages import PULSE_BEATS_KEPT, EngineEvent, EnginePulse, EngineSink

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _beat(latency: float) -> ev.Beat:
    return ev.Beat(AT, latency, 200, None, "ok", {}, 2)


def _status(current: int) -> ev.Status:
    return ev.Status(current, current, 1, 4, None, None, False, False, None, None, (), "")


def test_beats_ride_along_with_the_pulse_still_in_the_queue() -> None:
    posted: list[Message] = []
    sink = EngineSink(lambda m: posted.append(m) or True)
    sink(_beat(1))
    sink(ev.StatusChanged(AT, _status(2)))
    sink(_beat(2))
    sink(ev.Drift(AT, 2, 3))
    assert [type(m) for m in posted] == [EnginePulse, EngineEvent]
    first = posted[0]
    assert isinstance(first, EnginePulse)
    beats, status, count = first.take()  # the app handles it: later beats need a new one
    assert [b.latency_ms for b in beats] == [1, 2] and count == 2 and status == _status(2)
    sink(_beat(3))
    assert len(posted) == 3 and isinstance(posted[2], EnginePulse)
    assert posted[2].take()[2] == 1


def test_a_refused_post_is_not_joined_again() -> None:
    accepted: list[Message] = []
    sink = EngineSink(lambda m: False)  # the app is closing
    sink(_beat(1))
    sink = EngineSink(lambda m: accepted.append(m) or True)
    sink(_beat(2))
    assert len(accepted) == 1


def test_no_beat_is_lost_between_the_engine_thread_and_the_app() -> None:
    posted: list[EnginePulse] = []
    queued_behind: list[Message] = []
    lock = threading.Lock()

    def post(message: Message) -> bool:
        with lock:
            # A new pulse only once the app took the last: never two waiting.
            if not all(p._sealed for p in posted[-1:]):
                queued_behind.append(message)
            posted.append(message)  # type: ignore[arg-type]
        return True

    sink = EngineSink(post)
    total = 20_000
    feeder = threading.Thread(target=lambda: [sink(_beat(i)) for i in range(total)])
    feeder.start()
    counted = taken = 0
    while feeder.is_alive() or taken < len(posted):
        with lock:
            ready = posted[taken:]
        for pulse in ready:
            counted += pulse.take()[2]
        taken += len(ready)
    feeder.join()
    for pulse in posted[taken:]:
        counted += pulse.take()[2]
    assert counted == total
    assert queued_behind == [], "a pulse was posted while another was still open"
    assert len(posted) < total, "beats joined pulses instead of queueing one message each"


def test_a_long_pulse_keeps_the_newest_beats_and_counts_them_all() -> None:
    posted: list[Message] = []
    sink = EngineSink(lambda m: posted.append(m) or True)
    for i in range(PULSE_BEATS_KEPT + 50):
        sink(_beat(i))
    [pulse] = posted
    assert isinstance(pulse, EnginePulse)
    beats, _, count = pulse.take()
    assert count == PULSE_BEATS_KEPT + 50
    assert len(beats) == PULSE_BEATS_KEPT
    assert beats[-1].latency_ms == PULSE_BEATS_KEPT + 49


def test_log_words() -> None:
    scaled = describe(ev.Scaled(AT, 3, 2, "5 beats under 200 ms: 90, 80, 85, 70, 60", manual=False))
    assert scaled is not None and scaled.glyph == "▼"
    assert (
        scaled.text == "scaled down 3 → 2 automatically: 5 beats under 200 ms: 90, 80, 85, 70, 60"
    )
    manual = describe(ev.Scaled(AT, 2, 3, "operator asked for 3 dynos", manual=True))
    assert manual is not None and "by operator" in manual.text
    failed = describe(ev.ScaleFailed(AT, 2, 3, "Heroku answered 429: rate limited"))
    assert failed is not None and failed.tone == "bad"
    assert describe(_beat(100)) is None
    assert describe(ev.StatusChanged(AT, _status(2))) is None
    assert describe(ev.Decided(AT, 2, 3, "slow", "scale")) is None  # the Scaled line follows


def test_notifications_that_repeat_an_event_are_not_logged_twice() -> None:
    scale = Notification("scale", "Scaled up from 2 to 3 dynos automatically", "slow", AT)
    episode = Notification("needs_above_max", "At MAX_DYNOS (4) and still too slow", "slow", AT)
    assert describe(ev.Notified(AT, scale)) is None
    line = describe(ev.Notified(AT, episode))
    assert line is not None and line.text.startswith("At MAX_DYNOS (4) and still too slow")


def test_gated_decisions_repeat_under_one_key() -> None:
    first = describe(ev.Decided(AT, 2, 3, "slow", "paused"))
    again = describe(ev.Decided(AT, 2, 3, "slower", "paused"))
    other = describe(ev.Decided(AT, 3, 4, "slow", "paused"))
    assert first and again and other
    assert first.repeat_key == again.repeat_key != other.repeat_key

"""How the engine words what it tells people (issue 16, item 4)."""

from __future__ import annotations

from autoscalebot.backends.base import Measurement
from autoscalebot.engine.commands import UpdateSettings
from autoscalebot.engine.wording import dynos, number

REFUSED = Measurement(None, error="connection refused")


def test_the_same_failure_three_times_is_said_once(harness):
    class Refused:
        def measure(self) -> Measurement:
            return REFUSED

        def close(self) -> None:
            pass

    h = harness(count=1, MAX_DYNOS=3)
    h.engine.probe = Refused()
    for _ in range(3):
        h.engine.tick()
        h.clock.advance(30)
    (scaled,) = h.of("scale")
    assert scaled.reason == "3 beats failed: connection refused"


def test_mixed_evidence_keeps_the_numbers_and_folds_repeated_errors(harness):
    h = harness(count=1, MAX_DYNOS=3, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=4)
    h.beats(1350, None, None, 1600)
    (scaled,) = h.of("scale")
    assert (
        scaled.reason == "4 beats failed or took over 1000 ms: 1350, timed out after 2 s (×2), 1600"
    )


def test_one_beat_and_one_dyno_are_singular(harness):
    h = harness(
        count=2,
        NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER=1,
        NOTIFY_ON_EVERY_SCALE=True,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD=0,
        NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES=60,
    )
    h.beats(50)
    (scaled,) = h.of("scale")
    assert scaled.reason == "1 beat under 200 ms: 50"
    (note,) = h.notes("scale")
    assert note.message == "Scaled down from 2 to 1 dyno automatically"
    (diff,) = h.notes("scale_diff")
    assert diff.message.startswith("1 dyno of scaling") and diff.reason == "1 scale: -1"


def test_a_count_outside_the_window_is_worded_in_the_singular(harness):
    h = harness(count=1, MIN_DYNOS=2, MAX_DYNOS=4)
    h.beats(500)
    assert h.of("scale")[0].reason == "1 dyno is outside the window 2-4"


def test_the_start_event_names_the_target_never_a_class_path(harness):
    h = harness(count=1, HEROKU_APP_NAME="shop", PROCESS_TYPE="worker")
    h.engine.start()
    assert h.of("start")[0].app == "shop/worker"
    h = harness(count=1)
    h.scaler.target = "deployment default/web"
    h.engine.start()
    assert h.of("start")[0].app == "deployment default/web"


def test_whole_numbers_stay_whole_in_what_the_engine_says(harness):
    h = harness(count=1)
    h.engine.submit(
        UpdateSettings({"HEARTBEAT_INTERVAL_IN_SECONDS": 30, "MAX_RESPONSE_TIME_IN_MS": 800})
    )
    h.engine.apply_commands()
    (answer,) = h.of("operator")
    assert answer.detail == "applied HEARTBEAT_INTERVAL_IN_SECONDS=30, MAX_RESPONSE_TIME_IN_MS=800"
    assert (number(30.0), number(0.5), number(7), dynos(0), dynos(1)) == (
        "30",
        "0.5",
        "7",
        "0 dynos",
        "1 dyno",
    )


def test_a_queue_beat_carries_its_depth_and_a_web_beat_its_request_queue_time(harness):
    from autoscalebot.backends.base import Measurement, QueueSample, RequestFigures
    from autoscalebot.logfmt import fields

    h = harness(count=1)
    h.probe.push(Measurement(1200.0, queues=(QueueSample("default", 7, 1200.0),)))
    h.probe.push(
        Measurement(
            80.0, status=200, requests=RequestFigures(requests=120, seconds=30.0, queue_p95_ms=12.5)
        )
    )
    h.beats(None, None)  # the pushed measurements come first
    queue_beat, web_beat = [e for e in h.events if e.kind == "beat"][:2]
    assert (queue_beat.queue_depth, queue_beat.request_queue_ms) == (7, None)
    assert (web_beat.queue_depth, web_beat.request_queue_ms, web_beat.request_rate) == (
        None,
        12.5,
        4.0,
    )
    line = fields(queue_beat)
    assert line["queue_depth"] == 7 and line["sample#autoscalebot.queue.depth"] == "7"
    assert fields(web_beat)["measure#autoscalebot.request_queue"] == "12.5ms"

"""The queue decision backend, beat by beat, on measurements a probe would give."""

from __future__ import annotations

import pytest

from autoscalebot.backends.base import Bounds, Measurement, QueueSample
from autoscalebot.backends.policies.queue import QueuePolicy
from autoscalebot.config import build_settings

WINDOW = Bounds(0, 5)


def policy(**more):
    raw = {
        "SCALING_BACKEND": "process-group",
        "PROCESS_TYPE": "worker",
        "MIN_DYNOS": 0,
        "MAX_DYNOS": 5,
        "QUEUE_LATENCY_UP_IN_SECONDS": 30,
        "QUEUE_LATENCY_DOWN_IN_SECONDS": 5,
        "QUEUE_EMPTY_TO_ZERO_IN_SECONDS": 300,
        "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER": 3,
        **more,
    }
    return QueuePolicy(build_settings(raw, require_platform=False))


def queues(*pairs):
    """``("default", depth, wait_s), ...`` as a probe's measurement."""
    samples = tuple(QueueSample(n, d, None if w is None else w * 1000.0) for n, d, w in pairs)
    return Measurement(max((s.latency_ms or 0.0 for s in samples), default=0.0), queues=samples)


def test_an_old_job_adds_a_worker_on_that_beat_and_names_the_queue():
    p = policy()
    v = p.observe(queues(("high", 4, 45.0), ("default", 1, 2.0)), current=2, bounds=WINDOW, now=0)
    assert v.wanted == 3
    assert "'high' waited 45.0 s, over 30 s" in v.reason and "5 jobs waiting" in v.reason


def test_short_waits_remove_workers_after_the_streak_but_never_to_zero():
    p = policy()
    waits = [
        p.observe(queues(("q", 2, 1.0)), current=2, bounds=WINDOW, now=t).wanted for t in range(3)
    ]
    assert waits == [None, None, 1]
    p.reset()
    assert [
        p.observe(queues(("q", 2, 1.0)), current=1, bounds=WINDOW, now=t).wanted for t in range(5)
    ] == [None] * 5


def test_a_wait_between_the_thresholds_breaks_the_down_streak():
    p = policy()
    p.observe(queues(("q", 1, 1.0)), current=3, bounds=WINDOW, now=0)
    p.observe(queues(("q", 1, 1.0)), current=3, bounds=WINDOW, now=1)
    assert p.observe(queues(("q", 1, 10.0)), current=3, bounds=WINDOW, now=2).wanted is None
    assert p.observe(queues(("q", 1, 1.0)), current=3, bounds=WINDOW, now=3).wanted is None


def test_to_zero_only_after_the_queues_stayed_empty_for_the_set_time():
    p = policy()
    empty = queues(("q", 0, None))
    assert p.observe(empty, current=1, bounds=WINDOW, now=0).wanted is None
    assert p.observe(empty, current=1, bounds=WINDOW, now=299).wanted is None
    v = p.observe(empty, current=1, bounds=WINDOW, now=300)
    assert v.wanted == 0 and "empty for 300 s" in v.reason


def test_a_job_restarts_the_empty_clock():
    p = policy()
    p.observe(queues(("q", 0, None)), current=1, bounds=WINDOW, now=0)
    p.observe(queues(("q", 1, 0.0)), current=1, bounds=WINDOW, now=200)
    assert p.observe(queues(("q", 0, None)), current=1, bounds=WINDOW, now=400).wanted is None
    assert p.observe(queues(("q", 0, None)), current=1, bounds=WINDOW, now=701).wanted == 0


def test_never_to_zero_when_min_dynos_is_above_zero():
    p = policy(MIN_DYNOS=1)
    for t in range(0, 1000, 100):
        v = p.observe(queues(("q", 0, None)), current=1, bounds=Bounds(1, 5), now=t)
        assert v.wanted is None


def test_from_zero_to_one_as_soon_as_a_job_waits():
    p = policy()
    v = p.observe(queues(("q", 1, 0.0)), current=0, bounds=WINDOW, now=0)
    assert v.wanted == 1 and "no worker running" in v.reason
    assert p.observe(queues(("q", 0, None)), current=0, bounds=WINDOW, now=1).wanted is None


@pytest.mark.parametrize("current", [0, 1, 3])
def test_missing_data_never_scales_and_restarts_the_empty_clock(current):
    p = policy(QUEUE_EMPTY_TO_ZERO_IN_SECONDS=10)
    p.observe(queues(("q", 0, None)), current=current, bounds=WINDOW, now=0)
    broken = Measurement(None, error="Redis at redis://127.0.0.1:6379/0 is unreachable")
    for t in range(1, 30):
        v = p.observe(broken, current=current, bounds=WINDOW, now=t)
        assert v.wanted is None and "no queue data" in v.reason
    # Emptiness must be seen again for the full time before going to zero.
    assert p.observe(queues(("q", 0, None)), current=1, bounds=WINDOW, now=30).wanted is None
    assert p.observe(queues(("q", 0, None)), current=1, bounds=WINDOW, now=40).wanted == 0


def test_thresholds_edited_at_run_time_apply_to_the_next_beat():
    p = policy()
    m = queues(("q", 3, 20.0))
    assert p.observe(m, current=1, bounds=WINDOW, now=0).wanted is None
    p.configure(p.s.with_changes({"QUEUE_LATENCY_UP_IN_SECONDS": 10}))
    assert p.observe(m, current=1, bounds=WINDOW, now=1).wanted == 2

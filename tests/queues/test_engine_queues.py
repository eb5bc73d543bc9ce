"""The engine with a job-queue probe on a real Redis that goes wrong: reported once, never scaled."""

from __future__ import annotations

import rq

from autoscalebot.backends.policies.queue import QueuePolicy
from autoscalebot.backends.queues import RQProbe
from autoscalebot.config import build_settings
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from tests.conftest import MemoryScaler
from tests.queues.redis_server import PASSWORD, free_port

JOB = "tests.queues.workers.rq_jobs.slow"


def engine_on(url, count, **more):
    settings = build_settings(
        {
            "REDIS_URL": url,
            "PROCESS_TYPE": "worker",
            "SCALING_BACKEND": "process-group",
            "MIN_DYNOS": 0,
            "MAX_DYNOS": 4,
            "QUEUE_EMPTY_TO_ZERO_IN_SECONDS": 60,
            "HEARTBEAT_INTERVAL_IN_SECONDS": 10,
            **more,
        },
        require_platform=False,
    )
    events = []
    scaler = MemoryScaler(count)
    engine = Engine(
        settings,
        sink=events.append,
        clock=FakeClock(),
        probe=RQProbe(settings),
        policy=QueuePolicy(settings),
        scaler=scaler,
        notifiers=[],
        notify_async=False,
    )
    return engine, scaler, events


def beats(engine, n):
    for _ in range(n):
        engine.tick()
        engine.clock.advance(10)


def test_unreachable_redis_is_one_trouble_and_never_a_scale():
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    engine, scaler, events = engine_on(url, 3, HEARTBEAT_TIMEOUT_IN_SECONDS=0.5)
    beats(engine, 12)  # two minutes with no data: longer than the time to zero
    troubles = [e for e in events if e.kind == "trouble" and not e.repeat]
    assert len(troubles) == 1 and "unreachable" in troubles[0].reason
    assert PASSWORD not in repr(events)
    assert scaler.requests == []


def test_wrong_password_then_fixed_scales_on_real_data(redis_server, redis_url, r):
    rq.Queue("default", connection=r).enqueue(JOB, 1)
    engine, scaler, events = engine_on(redis_server.url(password="wrong-pass-e1"), 0)
    beats(engine, 3)
    assert scaler.requests == []
    assert any("refused the password" in getattr(e, "reason", "") for e in events)
    assert "wrong-pass-e1" not in repr(events)
    fixed, scaler, _ = engine_on(redis_url, 0)
    beats(fixed, 1)
    assert scaler.requests == [1]  # a job waits and nothing runs: one worker at once

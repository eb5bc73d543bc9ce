"""The worker closed loop: a burst of slow jobs, real RQ or Celery workers, the real bot.

Used by ``test_closed_loop.py`` (which asserts) and ``benchmarks/queues.py``
(which prints figures). The bot is the real engine with the ``rq`` or
``celery`` probe and the ``queue`` policy, built from their short names; it
scales real worker processes through the process-group scaler. Every worker
is stopped by its own pid or process group when a run ends, also on failure.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from autoscalebot.backends.processes import ProcessGroupScaler
from autoscalebot.config import build_settings
from autoscalebot.engine import events as ev
from autoscalebot.engine.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
DONE_KEY = "test:done"


def worker_command(kind: str) -> str:
    """One worker's command line, with no secret in it (the URL comes from the environment)."""
    python = sys.executable
    if kind == "rq":
        return f"{python} -m rq.cli worker --quiet --worker-ttl 5 default"
    return (
        f"{python} -m celery -A tests.queues.workers.celery_app worker --pool solo "
        "--concurrency 1 -Q celery --without-heartbeat --without-mingle --without-gossip "
        "--loglevel WARNING"
    )


def worker_env(redis_url: str) -> dict[str, str]:
    # Not DJANGO_SETTINGS_MODULE, which the Django tests leave in this process:
    # Celery would load that project's settings, which the workers cannot import.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        RQ_REDIS_URL=redis_url,
        REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def enqueue_burst(kind: str, redis_url: str, jobs: int, seconds: float) -> None:
    """Put ``jobs`` slow jobs on the queue with the kind's own client."""
    if kind == "rq":
        import rq

        with redis.Redis.from_url(redis_url) as client:
            queue = rq.Queue("default", connection=client)
            for _ in range(jobs):
                queue.enqueue("tests.queues.workers.rq_jobs.slow", seconds)
        return
    from celery import Celery
    from celery.signals import before_task_publish

    from autoscalebot.backends.queues import stamp_publish_time

    app = Celery("burst", broker=redis_url)
    before_task_publish.connect(stamp_publish_time)
    try:
        for _ in range(jobs):
            app.send_task("slow", args=[seconds], queue="celery")
    finally:
        before_task_publish.disconnect(stamp_publish_time)
        app.close()


@dataclass
class LoopResult:
    """What one run showed, in seconds from the burst."""

    first_worker_s: float | None = None
    drained_s: float | None = None
    zero_s: float | None = None
    peak: int = 0
    done: int = 0
    counts: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def bot_settings(kind: str, redis_url: str, *, max_workers: int, interval: float) -> Any:
    return build_settings(
        {
            "MEASUREMENT_BACKEND": kind,
            "DECISION_BACKEND": "queue",
            "SCALING_BACKEND": "process-group",
            "PROCESS_COMMAND": worker_command(kind),
            "PROCESS_TYPE": "worker",
            "REDIS_URL": redis_url,
            "QUEUES": "default" if kind == "rq" else "celery",
            "MIN_DYNOS": 0,
            "MAX_DYNOS": max_workers,
            "HEARTBEAT_INTERVAL_IN_SECONDS": interval,
            "QUEUE_LATENCY_UP_IN_SECONDS": 0.5,
            "QUEUE_LATENCY_DOWN_IN_SECONDS": 0.2,
            "QUEUE_EMPTY_TO_ZERO_IN_SECONDS": 1.0,
            "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER": 3,
            "COOL_OFF_IN_SECONDS": 0.4,
            "COUNT_REFRESH_IN_SECONDS": 1.0,
            "COMMAND_TIMEOUT_IN_SECONDS": 5,
        },
        require_platform=False,
    )


def run_closed_loop(
    kind: str,
    redis_url: str,
    *,
    jobs: int = 8,
    job_seconds: float = 0.6,
    max_workers: int = 4,
    interval: float = 0.2,
    timeout: float = 30.0,
) -> LoopResult:
    """Burst, then wait (bounded) until the bot has drained the queue and is back at zero."""
    settings = bot_settings(kind, redis_url, max_workers=max_workers, interval=interval)
    scaler = ProcessGroupScaler(settings, env=worker_env(redis_url))
    result = LoopResult()
    burst_at: list[float] = []
    lock = threading.Lock()

    def sink(event: ev.Event) -> None:
        with lock:
            if isinstance(event, ev.Scaled):
                result.counts.append(event.after)
                result.reasons.append(event.reason)
                result.peak = max(result.peak, event.after)
                if burst_at and event.after > event.before and result.first_worker_s is None:
                    result.first_worker_s = time.monotonic() - burst_at[0]
                if burst_at and event.after == 0 and result.peak > 0 and result.zero_s is None:
                    result.zero_s = time.monotonic() - burst_at[0]
            elif isinstance(event, ev.ScaleFailed):
                result.errors.append(event.reason)

    engine = Engine(settings, sink=sink, scaler=scaler, notifiers=[], notify_async=False)
    thread = threading.Thread(target=engine.run, name="queue-closed-loop", daemon=True)
    client = redis.Redis.from_url(redis_url)
    try:
        thread.start()
        burst_at.append(time.monotonic())
        enqueue_burst(kind, redis_url, jobs, job_seconds)
        deadline = burst_at[0] + timeout
        while time.monotonic() < deadline:
            result.done = int(client.get(DONE_KEY) or 0)
            if result.done >= jobs and result.drained_s is None:
                result.drained_s = time.monotonic() - burst_at[0]
            if result.zero_s is not None and result.drained_s is not None:
                break
            time.sleep(0.05)
    finally:
        engine.stop()
        thread.join(15)
        scaler.close()  # the engine closed it too; a second close is harmless
        client.close()
    return result


def run_fixed(
    kind: str,
    redis_url: str,
    *,
    workers: int,
    jobs: int = 8,
    job_seconds: float = 0.6,
    timeout: float = 30.0,
) -> float | None:
    """The same burst on a fixed count of workers already running: seconds to drain."""
    settings = bot_settings(kind, redis_url, max_workers=max(workers, 1), interval=1.0)
    scaler = ProcessGroupScaler(settings, env=worker_env(redis_url))
    client = redis.Redis.from_url(redis_url)
    try:
        scaler.scale_to(workers)
        time.sleep(2.0 if kind == "celery" else 1.0)  # let them boot: a fixed pool is warm
        started = time.monotonic()
        enqueue_burst(kind, redis_url, jobs, job_seconds)
        while time.monotonic() < started + timeout:
            if int(client.get(DONE_KEY) or 0) >= jobs:
                return time.monotonic() - started
            time.sleep(0.05)
        return None
    finally:
        scaler.close()
        client.close()

"""The job-queue probes against a real Redis, with jobs put there by real RQ and Celery clients."""

from __future__ import annotations

import time

import pytest
import rq
from celery import Celery
from celery.signals import before_task_publish

from autoscalebot.backends.queues import CeleryProbe, RedisListProbe, RQProbe, stamp_publish_time
from autoscalebot.config import build_settings
from autoscalebot.config.settings import ConfigError
from tests.queues.redis_server import PASSWORD

JOB = "tests.queues.workers.rq_jobs.slow"


def settings(url, **more):
    raw = {"REDIS_URL": url, "PROCESS_TYPE": "worker", "MIN_DYNOS": 0, **more}
    return build_settings(raw, require_platform=False)


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_rq_depth_and_the_oldest_jobs_wait_per_queue(redis_url, r):
    high, low = rq.Queue("high", connection=r), rq.Queue("default", connection=r)
    for _ in range(3):
        low.enqueue(JOB, 1)
    high.enqueue(JOB, 1)
    wall = Wall()
    wall.now += 12.0  # the jobs were enqueued about 12 s before this beat
    probe = RQProbe(settings(redis_url, QUEUES="high,default"), wall=wall)
    m = probe.measure()
    assert not m.broken, m.error
    assert [(q.name, q.depth) for q in m.queues] == [("high", 1), ("default", 3)]
    assert all(11_500 < q.latency_ms < 13_500 for q in m.queues)
    assert m.queue_depth == 4
    assert m.latency_ms == max(q.latency_ms for q in m.queues)
    probe.close()


def test_rq_an_empty_known_queue_is_zero_and_a_clock_behind_is_no_wait(redis_url, r):
    queue = rq.Queue("default", connection=r)
    job = queue.enqueue(JOB, 1)
    wall = Wall()
    wall.now -= 30.0  # the bot's clock is behind the enqueuer's: clamped, never negative
    probe = RQProbe(settings(redis_url), wall=wall)
    assert probe.measure().latency_ms == 0.0
    job.cancel()
    queue.remove(job.id)
    m = probe.measure()
    assert not m.broken, m.error
    assert m.queues[0].depth == 0 and m.latency_ms == 0.0


def test_rq_a_queue_rq_never_saw_is_a_reason_not_an_idle_queue(redis_url, r):
    rq.Queue("default", connection=r).enqueue(JOB, 1)
    m = RQProbe(settings(redis_url, QUEUES="default,hgih")).measure()
    assert m.broken
    assert "'hgih'" in m.error and "QUEUES" in m.error


def test_celery_messages_from_a_real_client_with_publish_stamps(redis_url):
    app = Celery("probe_test", broker=redis_url)
    before_task_publish.connect(stamp_publish_time)
    try:
        app.send_task("slow", args=[1], queue="celery")
        app.send_task("slow", args=[1], queue="celery", priority=6)
        app.send_task("slow", args=[1], queue="mail")
    finally:
        before_task_publish.disconnect(stamp_publish_time)
        app.close()
    wall = Wall()
    wall.now += 7.0
    m = CeleryProbe(settings(redis_url, QUEUES="celery,mail"), wall=wall).measure()
    assert not m.broken, m.error
    assert [(q.name, q.depth) for q in m.queues] == [("celery", 2), ("mail", 1)]
    assert all(6_500 < q.latency_ms < 8_500 for q in m.queues)


def test_celery_without_stamps_ages_the_oldest_message_from_when_the_bot_saw_it(redis_url, r):
    app = Celery("probe_test", broker=redis_url)
    app.send_task("slow", args=[1], queue="celery")
    app.send_task("slow", args=[2], queue="celery")
    wall = Wall()
    probe = CeleryProbe(settings(redis_url), wall=wall)
    assert probe.measure().latency_ms == 0.0  # first sight
    wall.now += 4.0
    assert probe.measure().latency_ms == pytest.approx(4000.0)
    r.rpop("celery")  # a worker took the oldest: the next one is new to the bot
    wall.now += 1.0
    m = probe.measure()
    assert m.queues[0].depth == 1 and m.latency_ms == 0.0
    app.close()


def test_celery_a_queue_no_worker_bound_and_no_list_is_a_reason(redis_url):
    m = CeleryProbe(settings(redis_url, QUEUES="celery")).measure()
    assert m.broken and "'celery'" in m.error


def test_celery_broker_that_is_not_redis_is_refused_at_start():
    with pytest.raises(ConfigError) as caught:
        CeleryProbe(settings("amqp://guest:hunter2@rabbit:5672//"))
    assert "amqp://, not Redis" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_plain_list_either_end_and_a_key_of_another_type(redis_url, r):
    r.rpush("jobs", "a", "b", "c")
    wall = Wall()
    probe = RedisListProbe(settings(redis_url, QUEUES="jobs,empty"), wall=wall)
    probe.measure()
    wall.now += 3.0
    r.rpush("jobs", "d")  # producer at the right; a consumer at the left
    r.lpop("jobs")
    wall.now += 2.0
    m = probe.measure()
    assert not m.broken, m.error
    assert [(q.name, q.depth) for q in m.queues] == [("jobs", 3), ("empty", 0)]
    assert m.queues[0].latency_ms == pytest.approx(0.0)  # "b" became the head just now
    wall.now += 2.0
    assert probe.measure().latency_ms == pytest.approx(2000.0)
    r.hset("jobs-typo", "x", "1")
    bad = RedisListProbe(settings(redis_url, QUEUES="jobs-typo")).measure()
    assert bad.broken and "holds a hash, not a list" in bad.error


@pytest.mark.parametrize("probe_class", [RQProbe, CeleryProbe, RedisListProbe])
def test_a_wrong_password_is_named_and_never_shown(redis_server, probe_class):
    url = redis_server.url(password="not-the-pass-4f2a")
    m = probe_class(settings(url, QUEUES="default")).measure()
    assert m.broken
    assert "refused the password in REDIS_URL" in m.error
    assert "not-the-pass-4f2a" not in m.error and "not-the-pass-4f2a" not in repr(m)


def test_a_missing_password_says_so(redis_server):
    m = RQProbe(settings(f"redis://127.0.0.1:{redis_server.port}/0")).measure()
    assert m.broken and "needs a password" in m.error


def test_an_unreachable_redis_is_a_bounded_reason_without_the_password(redis_server):
    from tests.queues.redis_server import free_port

    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    m = RQProbe(settings(url, HEARTBEAT_TIMEOUT_IN_SECONDS=1)).measure()
    assert time.monotonic() - started < 5
    assert m.broken and "unreachable" in m.error
    assert PASSWORD not in m.error


def test_redis_url_required_and_read_from_the_environment(monkeypatch, redis_url, r):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RQ_REDIS_URL", raising=False)
    with pytest.raises(ConfigError) as caught:
        RQProbe(build_settings({}, require_platform=False))
    assert caught.value.setting == "REDIS_URL"
    monkeypatch.setenv("REDIS_URL", redis_url)  # as Heroku Redis sets it
    rq.Queue("default", connection=r).enqueue(JOB, 1)
    assert RQProbe(build_settings({}, require_platform=False)).measure().queue_depth == 1


def test_a_url_that_is_not_redis_is_refused():
    with pytest.raises(ConfigError) as caught:
        RedisListProbe(settings("http://example.com/", QUEUES="jobs"))
    assert caught.value.setting == "REDIS_URL"

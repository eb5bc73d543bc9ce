"""The Celery app the real Celery workers of the queue tests run: a Redis broker.

Prefetch of one and late acks, so a job a worker has not started stays in
the queue (and in the measurement); publish times stamped by autoscalebot's
``before_task_publish`` receiver.
"""

import os
import time

import redis
from celery import Celery
from celery.signals import before_task_publish

from autoscalebot.backends.queues import stamp_publish_time

app = Celery("autoscalebot_test", broker=os.environ["REDIS_URL"])
app.conf.update(
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    worker_enable_remote_control=False,
)
before_task_publish.connect(stamp_publish_time)


@app.task(name="slow")
def slow(seconds: float) -> float:
    """Sleep ``seconds`` (the work), then count one finished job in Redis."""
    time.sleep(seconds)
    redis.Redis.from_url(os.environ["REDIS_URL"]).incr("test:done")
    return seconds

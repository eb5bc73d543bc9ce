"""Jobs the real RQ workers of the queue tests run."""

import time

from rq import get_current_job


def slow(seconds: float) -> float:
    """Sleep ``seconds`` (the work), then count one finished job in Redis."""
    time.sleep(seconds)
    job = get_current_job()
    if job is not None:
        job.connection.incr("test:done")
    return seconds

"""The worker closed loop with real Redis, real RQ and Celery workers, and the real bot.

A burst of slow jobs lands on an idle formation (no worker running, MIN_DYNOS
0); the bot starts one worker at once, adds more while the oldest job waits
too long, lets the queue drain, and stops every worker once the queue has
stayed empty. Bounded: each run gives up after 30 s.
"""

from __future__ import annotations

import pytest

from tests.queues.closed_loop import run_closed_loop
from tests.queues.redis_server import PASSWORD


@pytest.mark.parametrize("kind", ["rq", "celery"])
def test_a_burst_is_drained_by_added_workers_which_then_go_back_to_zero(kind, redis_url):
    result = run_closed_loop(kind, redis_url, jobs=8, job_seconds=0.6, max_workers=4)
    assert not result.errors, result.errors
    assert result.done == 8, result
    assert result.first_worker_s is not None
    assert result.counts[0] == 1  # from zero: one worker as soon as a job waits
    assert result.peak >= 2, result  # the wait grew: more workers were added
    assert max(result.counts) <= 4  # never past MAX_DYNOS
    assert result.counts[-1] == 0 and result.zero_s is not None, result
    assert result.zero_s > result.first_worker_s
    assert not any(PASSWORD in reason for reason in result.reasons)

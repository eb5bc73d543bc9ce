"""Decision backend for worker formations: job queue latency in, worker count out.

Fed by a job-queue probe (``rq``, ``celery``, ``redis-list``), it follows the
rules the queue-based autoscalers for workers use (Judoscale, HireFire):

- the oldest job has waited longer than ``QUEUE_LATENCY_UP_IN_SECONDS``:
  add ``INCREMENT`` workers, on that beat (the wait is already a measure
  over time, so no streak is needed; ``COOL_OFF_IN_SECONDS`` spaces the
  steps while new workers boot);
- every job has waited less than ``QUEUE_LATENCY_DOWN_IN_SECONDS`` for
  ``NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER`` beats in a row: remove
  ``INCREMENT`` workers, never below one this way;
- the queues have been empty for ``QUEUE_EMPTY_TO_ZERO_IN_SECONDS`` and
  ``MIN_DYNOS`` is 0: stop every worker;
- no worker runs and a job waits: one worker at once.

A beat without queue data (Redis unreachable, a wrong password, an unknown
queue) never scales, and restarts the empty-queue clock: emptiness must be
seen, not assumed.
"""

from __future__ import annotations

from typing import Any

from autoscalebot.backends.base import BaseBackend, Bounds, Measurement, QueueSample, Verdict
from autoscalebot.config.settings import Settings


class QueuePolicy(BaseBackend):
    """Scales workers on job queue latency, to zero when idle and back to one on the first job."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        super().__init__(settings)
        self.configure(settings)
        self.passes = 0
        self.empty_since: float | None = None

    def configure(self, settings: Settings) -> None:
        self.s = settings

    def reset(self) -> None:
        # The down streak starts over after a scale; the empty clock does not:
        # the queues stayed empty whatever the worker count did.
        self.passes = 0

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        need = self.s.number_of_passes_to_scale_down_after
        if m.broken or not m.queues:
            self.passes = 0
            self.empty_since = None
            return Verdict(
                outcome="fail",
                reason=f"no queue data: {m.error or 'no queues measured'}",
                streaks={"passes": (0, need)},
            )
        depth = m.queue_depth
        wait_s = (m.latency_ms or 0.0) / 1000.0
        if depth == 0:
            if self.empty_since is None:
                self.empty_since = now
        else:
            self.empty_since = None
        up_s = self.s.queue_latency_up_in_seconds
        down_s = self.s.queue_latency_down_in_seconds
        outcome: Any = "ok"
        wanted: int | None = None
        reason = ""
        if current == 0:
            self.passes = 0
            if depth > 0:
                outcome, wanted = "fail", 1
                reason = f"{_jobs(depth)} waiting and no worker running"
            else:
                outcome = "pass"
        elif wait_s > up_s:
            self.passes = 0
            outcome, wanted = "fail", current + self.s.increment
            reason = (
                f"oldest job in {_slowest(m.queues)} waited {wait_s:.1f} s, over {up_s:g} s; "
                f"{_jobs(depth)} waiting"
            )
        elif (
            depth == 0
            and bounds.min == 0
            and self.empty_since is not None
            and now - self.empty_since >= self.s.queue_empty_to_zero_in_seconds
        ):
            self.passes = 0
            outcome, wanted = "pass", 0
            reason = f"queues empty for {now - self.empty_since:.0f} s"
        elif wait_s < down_s:
            self.passes = min(self.passes + 1, need)
            outcome = "pass"
            if self.passes >= need and current > 1:
                wanted = max(1, current - self.s.increment)
                reason = f"{need} beats with every job waiting under {down_s:g} s ({_jobs(depth)} waiting)"
        else:
            self.passes = 0
        return Verdict(
            outcome=outcome, wanted=wanted, reason=reason, streaks={"passes": (self.passes, need)}
        )


def _jobs(n: int) -> str:
    return "1 job" if n == 1 else f"{n} jobs"


def _slowest(queues: tuple[QueueSample, ...]) -> str:
    slowest = max(queues, key=lambda q: q.latency_ms or 0.0)
    return repr(slowest.name)

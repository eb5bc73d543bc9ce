"""What the platform says serves reaches the status and the policy, and is
followed closely while dynos boot."""

from __future__ import annotations

from typing import Any

from autoscalebot.backends.base import Bounds, Measurement, Verdict
from autoscalebot.engine.engine import BOOT_POLL
from tests.conftest import MemoryScaler


class BootingScaler(MemoryScaler):
    """A platform whose new dynos start ``boot`` seconds after the scale."""

    def __init__(self, count: int, clock: Any, boot: float = 30.0) -> None:
        super().__init__(count)
        self.clock, self.boot = clock, boot
        self.up_since: list[float] = [-1e9] * count
        self.readiness_reads = 0

    def scale_to(self, quantity: int) -> int:
        now = self.clock.monotonic()
        self.up_since = (self.up_since + [now + self.boot] * quantity)[:quantity]
        return super().scale_to(quantity)

    def readiness(self) -> tuple[int, int]:
        self.readiness_reads += 1
        up = sum(t <= self.clock.monotonic() for t in self.up_since)
        return up, self.count - up


class Recorder:
    """A policy that records what each beat told it, and never scales."""

    def __init__(self) -> None:
        self.serving: list[int | None] = []

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        self.serving.append(m.serving)
        return Verdict(outcome="ok", reason="")

    def reset(self) -> None:
        pass


def test_readiness_reaches_status_and_policy_and_is_followed_while_booting(harness):
    h = harness(count=2, HEARTBEAT_INTERVAL_IN_SECONDS=5, MAX_DYNOS=6, COUNT_REFRESH_IN_SECONDS=600)
    h.engine.scaler = scaler = BootingScaler(2, h.clock)
    h.engine.policy = policy = Recorder()
    h.beats(300.0)
    assert h.engine.status().readiness == (2, 0) and policy.serving[-1] == 2
    from autoscalebot.engine.commands import ForceScale

    h.engine.submit(ForceScale(to=4))
    h.engine.apply_commands()
    assert h.engine.status().readiness == (2, 2)  # at once: never "4 dynos, 2 up"
    h.beats(300.0)  # the beat right after the scale asks what serves now
    assert h.engine.status().readiness == (2, 2)
    h.beats(*[300.0] * 3)  # 20 s: the new dynos still boot
    assert h.engine.status().readiness == (2, 2) and policy.serving[-1] == 2
    reads = scaler.readiness_reads
    h.beats(*[300.0] * 4)  # 40 s after the scale: up
    assert h.engine.status().readiness == (4, 0) and policy.serving[-1] == 4
    # Read every BOOT_POLL seconds while booting, not at each 5 s beat, and not
    # again once everything is up (the count refresh is 10 minutes away).
    assert scaler.readiness_reads - reads <= 20 / BOOT_POLL + 1
    settled = scaler.readiness_reads
    h.beats(*[300.0] * 6)
    assert scaler.readiness_reads == settled

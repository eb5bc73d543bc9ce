"""Time, injected: the real clock for running, a fake one for tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the engine needs of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals)."""
        ...

    def now(self) -> datetime:
        """The wall-clock time, aware (for schedules and display)."""
        ...

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Wait up to ``seconds``; return True at once if ``wake`` is set."""
        ...


class SystemClock:
    """The machine's clocks; waiting is interruptible by the wake event."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        return wake.wait(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to, or when the engine waits.

    ``wait`` returns immediately, having moved time forward, so a test can run
    a simulated day in milliseconds.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        self._elapsed = 0.0

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._elapsed += seconds

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        if wake.is_set():
            return True
        self._elapsed += max(0.0, seconds)
        return False

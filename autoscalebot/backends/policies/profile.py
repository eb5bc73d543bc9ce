"""What a latency-only policy may assume about the app, and how it reads a beat.

Policies that turn latency into utilisation need the app's mean service
time and its workers per dyno, from the settings table:

- ``APP_SERVICE_TIME_IN_MS`` (default 100): mean time one request takes
  when nothing queues (an APM's "app time per request");
- ``APP_CONCURRENCY`` (default 2, Heroku's ``WEB_CONCURRENCY`` on a
  standard-1X dyno): requests one dyno serves at once;
- ``TARGET_PERCENTILE`` (default 95): the share of requests that should be
  faster than ``MAX_RESPONSE_TIME_IN_MS``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from autoscalebot.backends.base import BaseBackend, Measurement, Outcome, Verdict
from autoscalebot.config.settings import Settings


@dataclass(frozen=True)
class AppProfile:
    """The app as a policy assumes it: service time, workers per dyno, latency target."""

    service_ms: float
    concurrency: int
    target_ms: float
    slow_share: float  # the share of requests allowed over target_ms
    timeout_ms: float  # what a heartbeat that never answered counts as

    @classmethod
    def from_settings(cls, settings: Settings) -> AppProfile:
        return cls(
            service_ms=settings.app_service_time_in_ms,
            concurrency=settings.app_concurrency,
            target_ms=settings.max_response_time_in_ms,
            slow_share=1.0 - settings.target_percentile / 100.0,
            timeout_ms=settings.heartbeat_timeout * 1000.0,
        )

    def latency(self, m: Measurement) -> float:
        """The beat's latency in ms; no answer or an error status counts as the probe's timeout."""
        if m.broken or m.latency_ms is None:
            return self.timeout_ms
        return m.latency_ms


class BeatWindow:
    """Latencies of the beats in the last ``seconds`` (oldest first), with their running sum."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.items: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def add(self, now: float, latency_ms: float) -> None:
        items = self.items
        items.append((now, latency_ms))
        self.total += latency_ms
        edge = now - self.seconds
        while items[0][0] <= edge:
            self.total -= items.popleft()[1]
        if len(items) == 1:
            self.total = latency_ms  # wash out rounding whenever the window restarts

    def clear(self) -> None:
        self.items.clear()
        self.total = 0.0

    def __len__(self) -> int:
        return len(self.items)

    def values(self) -> list[float]:
        return [v for _, v in self.items]

    def mean(self) -> float:
        return self.total / len(self.items) if self.items else 0.0


_QUIET: dict[str, Verdict] = {o: Verdict(o) for o in ("pass", "ok", "fail")}


def no_change(outcome: Outcome) -> Verdict:
    """The shared, immutable verdict for a beat that asks for nothing (most beats)."""
    return _QUIET[outcome]


class LatencyPolicy(BaseBackend):
    """Base of the policies here: keeps the settings (``s``) and the app profile (``app``).

    Subclasses set up their own state, then call ``super().__init__``, which
    calls :meth:`configure`; they extend ``configure`` for derived values.
    """

    def __init__(self, settings: Settings, **_: Any) -> None:
        super().__init__(settings)
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Take new thresholds while running (the console's editor)."""
        self.s = settings
        self.app = AppProfile.from_settings(settings)

    def reset(self) -> None:
        """Called after every scale; time-based state survives it unless a subclass says otherwise."""

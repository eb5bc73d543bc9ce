"""The four backend roles as Protocols, and the values that pass between them.

A backend is a class. The engine builds it once with the settings object,
``Backend(settings)``, and calls it from its one worker thread. Backends
raise the documented error types; anything else they raise is caught and
reported by the engine too, so a backend bug never stops the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from autoscalebot.config import Settings

Outcome = Literal["pass", "ok", "fail"]


@dataclass(frozen=True)
class QueueSample:
    """One job queue at one moment: jobs waiting, and how long the oldest has waited.

    ``latency_ms`` is ``None`` when the queue is empty or the oldest job's
    age is unknown.
    """

    name: str
    depth: int
    latency_ms: float | None = None


@dataclass(frozen=True)
class RequestFigures:
    """What the app's own middleware saw since the bot's last read (one dyno's view).

    Times are milliseconds; ``queue_*`` is the router-to-app wait
    (``X-Request-Start``), ``service_*`` the time the app spent on a request.
    """

    requests: int
    seconds: float
    queue_p50_ms: float | None = None
    queue_p95_ms: float | None = None
    queue_max_ms: float | None = None
    service_p50_ms: float | None = None
    service_p95_ms: float | None = None
    service_mean_ms: float | None = None
    busy: int = 0

    @property
    def rate(self) -> float:
        """Requests per second over the window."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Measurement:
    """One heartbeat: how long it took and how it ended.

    ``latency_ms`` is ``None`` when no answer came (timeout, refused, reset);
    ``error`` then says why in a few words. A job-queue probe puts the
    oldest job's wait across its queues in ``latency_ms`` and each queue in
    ``queues``; a probe of the request middleware adds ``requests``.
    """

    latency_ms: float | None
    status: int | None = None
    error: str | None = None
    queues: tuple[QueueSample, ...] = ()
    requests: RequestFigures | None = None
    serving: int | None = None
    """Dynos the platform says are up (Heroku's dyno states, Kubernetes' ready
    replicas), set by the engine where the platform can say; None elsewhere,
    and policies fall back on ``APP_BOOT_SECONDS``."""

    @property
    def queue_depth(self) -> int:
        """Jobs waiting across every queue measured (0 for a heartbeat)."""
        return sum(q.depth for q in self.queues)

    @property
    def broken(self) -> bool:
        """No usable answer (none, an error, or a status of 400 or more): always a fail."""
        return (
            self.latency_ms is None
            or self.error is not None
            or (self.status is not None and self.status >= 400)
        )

    def __str__(self) -> str:
        """``1350 ms``, ``20 ms (status 503)``, or the error, for logs and notifications."""
        if self.error:
            return self.error
        text = f"{self.latency_ms:.0f} ms" if self.latency_ms is not None else "no answer"
        return f"{text} (status {self.status})" if self.broken and self.status else text


@dataclass(frozen=True)
class Bounds:
    """The dyno window that holds at one moment."""

    min: int
    max: int

    def clamp(self, n: int) -> int:
        """``n`` moved into the window."""
        return max(self.min, min(self.max, n))

    def __contains__(self, n: object) -> bool:
        return isinstance(n, int) and self.min <= n <= self.max


@dataclass(frozen=True)
class Verdict:
    """What a policy makes of one beat.

    ``wanted`` is the count the policy would like (``None``: no change
    wanted). The engine clamps it to the bounds, applies pause and cool-off,
    and decides the notifications; the policy only says what it sees.
    ``outcome`` classifies the beat for display; ``streaks`` is display state
    such as ``{"fails": (2, 3), "passes": (0, 5)}``.
    """

    outcome: Outcome
    wanted: int | None = None
    reason: str = ""
    streaks: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """One message for the notification backends.

    ``kind`` is a stable identifier (``scale``, ``scale_failed``,
    ``needs_above_max``, ``needs_below_min``, ``scale_diff``, ``ping``,
    ``recovered``); ``message`` is a
    sentence for people; ``reason`` the evidence (e.g. ``3 beats over 1000 ms:
    1350, 1420, 1600``); ``counts`` the dyno numbers involved.
    """

    kind: str
    message: str
    reason: str
    at: datetime
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.message} ({self.reason})" if self.reason else self.message


class ScalerError(Exception):
    """A scaling platform refused or failed a call.

    ``kind`` is one of ``auth``, ``forbidden``, ``not_found``, ``invalid``,
    ``rate_limited``, ``server``, ``network``, ``protocol``; ``retry_after``
    (seconds) is set when the platform asks the bot to back off. The message
    never holds a secret.
    """

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


@runtime_checkable
class Probe(Protocol):
    """Measurement backend: measures the app once per beat.

    Must not raise for an unhealthy app: a timeout or a 500 is a
    ``Measurement`` with ``error``/``status`` set.
    """

    def measure(self) -> Measurement: ...

    def close(self) -> None: ...


@runtime_checkable
class Policy(Protocol):
    """Decision backend: turns beats into a wanted dyno count."""

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        """Take one beat and say what count is wanted."""
        ...

    def reset(self) -> None:
        """Forget streaks; called after every scale."""
        ...

    def configure(self, settings: Settings) -> None:
        """Take new thresholds while running (the console's editor)."""
        ...


@runtime_checkable
class Scaler(Protocol):
    """Scaling backend: reads and sets the dyno count on a platform.

    Optional: a ``target`` attribute (or property), the text that names what
    is scaled in the start event (``my-app/web``, ``deployment default/web``).
    The engine reads it with ``getattr``, so scalers without it still work.
    ``scale_to`` answers "done" only for the count the platform reports; the
    engine reads the count back after every call, and an answer or a read
    that is not a plausible count (negative, above 10000, not a whole number)
    or that shows the count unchanged is a failed scale.
    """

    def current(self) -> int:
        """The count the platform runs now. Raises :class:`ScalerError`."""
        ...

    def scale_to(self, quantity: int) -> int:
        """Ask for ``quantity``; return the count the platform confirms."""
        ...

    def app_url(self) -> str | None:
        """The app's own URL, to resolve a relative ``HEARTBEAT_URL``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class NotificationBackend(Protocol):
    """Notification backend: tells people something happened."""

    def send(self, notification: Notification) -> None: ...


class BaseBackend:
    """Convenience base: keeps the settings and has a no-op ``close``."""

    def __init__(self, settings: Settings | None = None, **_: Any) -> None:
        self.settings = settings

    def close(self) -> None:
        """Release resources; the engine calls it once at stop."""

"""Events the engine emits, for any sink: the logfmt log, the console, tests.

Every event is a frozen dataclass with ``at`` (wall-clock, aware datetime) and
a ``kind`` class attribute used as the logfmt ``event=`` value. A sink is any
``Callable[[Event], None]``; it is called on the engine's thread, so it must
be quick and thread-safe (Textual's ``post_message`` is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from autoscalebot.backends.base import Notification, Outcome


@dataclass(frozen=True)
class Event:
    """Base of all engine events."""

    at: datetime
    kind: ClassVar[str] = "event"


@dataclass(frozen=True)
class Status:
    """A snapshot of everything an operator wants to see at a glance."""

    current: int | None
    target: int | None
    min: int
    max: int
    next_bounds_change: datetime | None
    next_bounds: tuple[int, int] | None
    paused: bool
    dry_run: bool
    cooling_until: datetime | None
    hold_until: datetime | None
    problems: tuple[str, ...]
    last_reason: str
    streaks: dict[str, tuple[int, int]] = field(default_factory=dict)
    thresholds_ms: tuple[float, float] = (200.0, 1000.0)
    problem_reasons: dict[str, str] = field(default_factory=dict)
    readiness: tuple[int, int] | None = None
    """(up, starting) dynos, where the platform says (Heroku's dyno states)."""
    budget: dict[str, Any] | None = None
    """The platform account's request budget as this bot uses it (Heroku), or None."""
    """Why each part in ``problems`` fails (its latest reason), by source."""


@dataclass(frozen=True)
class Started(Event):
    """The engine is running; ``current`` is the platform's count at start.

    ``app`` names what is scaled, as people know it: ``my-app/web`` (Heroku
    app and process type), ``deployment default/web``, ``gunicorn <pidfile>``.
    """

    kind: ClassVar[str] = "start"
    app: str
    current: int | None
    min: int
    max: int
    dry_run: bool


@dataclass(frozen=True)
class Beat(Event):
    """One heartbeat, judged."""

    kind: ClassVar[str] = "beat"
    latency_ms: float | None
    status: int | None
    error: str | None
    outcome: Outcome
    streaks: dict[str, tuple[int, int]]
    current: int | None
    queue_depth: int | None = None
    """Jobs waiting (job-queue measurements; ``latency_ms`` is then the oldest job's wait)."""
    request_queue_ms: float | None = None
    """p95 of the router-to-app wait of the app's requests (the queue-time middleware)."""
    request_rate: float | None = None
    """Requests per second the app's middleware counted since the last beat."""


@dataclass(frozen=True)
class Decided(Event):
    """The engine chose to change the count (or would, in dry-run or paused)."""

    kind: ClassVar[str] = "decision"
    current: int
    target: int
    reason: str
    action: str  # "scale", "dry-run", "paused", "cooling", "hold"


@dataclass(frozen=True)
class Scaled(Event):
    """The platform confirmed a new count."""

    kind: ClassVar[str] = "scale"
    before: int
    after: int
    reason: str
    manual: bool


@dataclass(frozen=True)
class ScaleFailed(Event):
    """A scale call failed; the recorded count did not change."""

    kind: ClassVar[str] = "scale_failed"
    current: int | None
    target: int
    reason: str


@dataclass(frozen=True)
class Drift(Event):
    """The platform's count differs from the recorded one (scaled by hand)."""

    kind: ClassVar[str] = "drift"
    recorded: int | None
    actual: int


@dataclass(frozen=True)
class Trouble(Event):
    """A part started failing.

    ``source`` is ``probe`` (the heartbeat), ``app-url`` (asking the platform
    where the heartbeat is), ``platform`` (reading the count), ``scale``
    (scale calls), ``policy`` or ``notify:<backend>``.

    A part that keeps failing is reported again on a back-off (after 1 min,
    5 min, then every 15 min): ``repeat`` counts those reminders (0 for the
    report that opened the episode) and the reason then says for how long.
    """

    kind: ClassVar[str] = "trouble"
    source: str
    reason: str
    repeat: int = 0


@dataclass(frozen=True)
class Recovered(Event):
    """A part that was failing works again."""

    kind: ClassVar[str] = "recovered"
    source: str


@dataclass(frozen=True)
class Notified(Event):
    """A notification was handed to the backends (their failures are ``Trouble``)."""

    kind: ClassVar[str] = "notify"
    notification: Notification


@dataclass(frozen=True)
class OperatorAction(Event):
    """A command from the operator was applied or refused."""

    kind: ClassVar[str] = "operator"
    action: str
    detail: str
    accepted: bool = True
    ref: str | None = None
    """The ``ref`` of the command this answers (a control client's request id)."""


@dataclass(frozen=True)
class StatusChanged(Event):
    """The status snapshot changed; the console replaces its copy."""

    kind: ClassVar[str] = "status"
    status: Status


@dataclass(frozen=True)
class Listening(Event):
    """The bot's control socket is open: consoles and ``autoscalebot ctl`` connect there."""

    kind: ClassVar[str] = "control"
    socket: str
    formations: tuple[str, ...]


@dataclass(frozen=True)
class Stopped(Event):
    """The engine loop ended."""

    kind: ClassVar[str] = "stop"
    reason: str


Sink = Callable[[Event], None]


def fan_out(*sinks: Sink) -> Sink:
    """One sink that hands each event to every one of ``sinks``, in order."""

    def sink(event: Event) -> None:
        for each in sinks:
            each(event)

    return sink

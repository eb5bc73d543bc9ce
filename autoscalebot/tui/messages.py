"""Textual messages that carry engine events from the engine's thread to the app.

The engine calls the console's sink on its own thread; the sink wraps each
event in one of these and hands it to ``App.post_message`` (thread-safe).

Beats and status snapshots come every interval and, under a fast beat rate,
faster than a screen repaints. They travel as :class:`EnginePulse`, which
absorbs an earlier pulse still waiting in the queue, so a slow screen handles
one merged pulse instead of a backlog. Everything else (scales, failures,
operator actions) is rare and travels one by one as :class:`EngineEvent`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from textual.message import Message

from autoscalebot.engine import events as ev

PULSE_BEATS_KEPT = 600
"""Beats a merged pulse keeps (the newest): more than any screen is wide."""

_order = itertools.count()  # next() on a count is atomic under the GIL


class EngineEvent(Message):
    """One engine event for the log and the panels (not a beat or a status)."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event
        """The engine's event, unchanged."""


class EnginePulse(Message):
    """Beats and the newest status snapshot, merged while they wait in the queue."""

    def __init__(self, beats: tuple[ev.Beat, ...] = (), status: ev.Status | None = None) -> None:
        super().__init__()
        self.beats = beats
        """The beats, oldest first (at most :data:`PULSE_BEATS_KEPT`)."""
        self.status = status
        """The newest status snapshot, or None when no status came with these beats."""
        self.count = len(beats)
        """How many beats this pulse stands for, including any too old to keep."""
        self.order = next(_order)

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message it is about to handle whether the next one in
        # the queue may be handled in its place; if so, this one is dropped. So
        # fold this (older) pulse into the newer one: no beat is lost from the
        # count, only the oldest beats beyond what a screen can show.
        if not isinstance(message, EnginePulse) or message.order < self.order:
            return False
        message.beats = (self.beats + message.beats)[-PULSE_BEATS_KEPT:]
        message.count += self.count
        if message.status is None:
            message.status = self.status
        return True


def to_message(event: ev.Event) -> Message:
    """The message that carries ``event`` to the app."""
    if isinstance(event, ev.Beat):
        return EnginePulse(beats=(event,))
    if isinstance(event, ev.StatusChanged):
        return EnginePulse(status=event.status)
    return EngineEvent(event)


def sink_for(post: Callable[[Message], object]) -> ev.Sink:
    """An engine sink that posts each event with ``post`` (``App.post_message``)."""

    def sink(event: ev.Event) -> None:
        post(to_message(event))

    return sink

"""Textual messages that carry engine events from the engine's thread to the app.

The engine calls the console's sink (:class:`EngineSink`) on its own thread;
the sink wraps each event in one of these and hands it to
``App.post_message`` (thread-safe).

Beats and status snapshots come every interval and, under a fast beat rate,
faster than a screen repaints. They travel as :class:`EnginePulse`: while a
pulse waits in the app's queue, later beats join it instead of queueing a
message each, and the sink posts a new pulse only once the app has taken the
last one, so at most one pulse ever waits (nothing for Textual's
``can_replace`` to merge). A slow screen handles one pulse per repaint, never
a backlog, and no beat goes uncounted. Everything else (scales, failures,
operator actions) is rare and travels one by one as :class:`EngineEvent`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from autoscalebot.engine import events as ev

PULSE_BEATS_KEPT = 600
"""Beats a pulse keeps (the newest): more than any screen is wide."""


class EngineEvent(Message):
    """One engine event for the log and the panels (not a beat or a status)."""

    def __init__(self, event: ev.Event, formation: str = "") -> None:
        super().__init__()
        self.event = event
        """The engine's event, unchanged."""
        self.formation = formation
        """The formation whose engine reported it."""


class EnginePulse(Message):
    """Beats and the newest status snapshot, gathered while they wait in the queue.

    Until the app handles it (:meth:`take`), a pulse is open: the sink may add
    beats and statuses to it from the engine's thread, under its lock.
    """

    def __init__(
        self,
        beats: tuple[ev.Beat, ...] = (),
        status: ev.Status | None = None,
        formation: str = "",
    ) -> None:
        super().__init__()
        self.formation = formation
        """The formation whose engine reported these."""
        self.beats = beats
        """The beats, oldest first (at most :data:`PULSE_BEATS_KEPT`)."""
        self.status = status
        """The newest status snapshot, or None when no status came with these beats."""
        self.count = len(beats)
        """How many beats this pulse stands for, including any too old to keep."""
        self._lock = threading.Lock()
        self._sealed = False

    @classmethod
    def of(cls, event: ev.Beat | ev.StatusChanged, formation: str = "") -> EnginePulse:
        """A pulse holding one beat or one status."""
        if isinstance(event, ev.Beat):
            return cls(beats=(event,), formation=formation)
        return cls(status=event.status, formation=formation)

    def join(self, event: ev.Beat | ev.StatusChanged) -> bool:
        """Add ``event`` if the app has not taken this pulse yet; True if added."""
        with self._lock:
            if self._sealed:
                return False
            if isinstance(event, ev.Beat):
                self.beats = (*self.beats[-(PULSE_BEATS_KEPT - 1) :], event)
                self.count += 1
            else:
                self.status = event.status
            return True

    def take(self) -> tuple[tuple[ev.Beat, ...], ev.Status | None, int]:
        """Close the pulse to new events and return (beats, status, count)."""
        with self._lock:
            self._sealed = True
            return self.beats, self.status, self.count


class EngineSink:
    """The engine's sink for the console: events in, messages posted to the app.

    Called on the engine's thread (and the notifier's); ``post`` is
    ``App.post_message``, which is thread-safe. Each formation has a sink of
    its own (``formation`` rides on every message it posts), so one busy
    formation's pulse never holds another's beats.
    """

    def __init__(self, post: Callable[[Message], bool], formation: str = "") -> None:
        self._post = post
        self.formation = formation
        """The formation whose engine this sink serves."""
        self._lock = threading.Lock()
        self._open: EnginePulse | None = None  # posted, not yet taken by the app

    def __call__(self, event: ev.Event) -> None:
        if not isinstance(event, ev.Beat | ev.StatusChanged):
            self._post(EngineEvent(event, self.formation))
            return
        with self._lock:
            if self._open is not None and self._open.join(event):
                return  # it rides along with the pulse already in the queue
            pulse = self._open = EnginePulse.of(event, self.formation)
        if not self._post(pulse):  # the app is closing: nothing will take it
            with self._lock:
                self._open = None

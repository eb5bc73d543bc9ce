"""Hands notifications to the backends without ever delaying a beat.

Backends run on the notifier's own thread: a slow or hung backend (an SMTP
server that never answers) delays only later notifications, never the beat
schedule. The queue is bounded; when it is full the oldest waiting
notification is dropped and counted.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable

from autoscalebot.backends.base import Notification, NotificationBackend

log = logging.getLogger(__name__)

_CLOSE = object()


class Notifier:
    """Delivers notifications to every backend, on a thread or inline.

    ``report(name, error)`` is called when a backend starts failing (``error``
    set) or works again (``error`` None): once per episode, not per message.
    """

    def __init__(
        self,
        backends: list[NotificationBackend],
        *,
        report: Callable[[str, str | None], None],
        threaded: bool = True,
        capacity: int = 1000,
    ) -> None:
        self.backends = backends
        self.failing: frozenset[str] = frozenset()
        self._report = report
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        if threaded and backends:
            self._thread = threading.Thread(
                target=self._run, name="autoscalebot-notify", daemon=True
            )
            self._thread.start()

    def send(self, note: Notification) -> None:
        """Queue ``note`` for every backend (inline when not threaded)."""
        if not self.backends:
            return
        if self._thread is None:
            self._deliver(note)
            return
        while True:
            try:
                self._queue.put_nowait(note)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._queue.task_done()
                    log.warning("notification queue full: dropped the oldest notification")
                except queue.Empty:
                    pass

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued notification was handed over; False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float = 1.0) -> None:
        """Deliver what is queued (up to ``timeout``), then stop the thread."""
        if self._thread is None:
            return
        self.flush(timeout)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_CLOSE)
        self._thread.join(timeout=0.1)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _CLOSE:
                    return
                assert isinstance(item, Notification)
                self._deliver(item)
            finally:
                self._queue.task_done()

    def _deliver(self, note: Notification) -> None:
        for backend in self.backends:
            name = type(backend).__name__
            try:
                backend.send(note)
            except Exception as exc:
                log.warning("notification backend %s failed", name, exc_info=True)
                if name not in self.failing:
                    self.failing = self.failing | {name}
                    self._report(name, f"{type(exc).__name__}: {exc}"[:200])
            else:
                if name in self.failing:
                    self.failing = self.failing - {name}
                    self._report(name, None)

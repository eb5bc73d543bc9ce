"""Scaling backend: the workers of a running gunicorn master, on this machine.

Gunicorn's master adds one worker on ``SIGTTIN`` and retires its oldest one on
``SIGTTOU`` (gracefully: the worker finishes its request first, and the master
never goes below one worker). So a "dyno" here is a worker process, the count
is read from the process table (the master's live children), and a scale is
one signal at a time, each waited for (bounded) until the table shows it.

Linux only: the process table is read from ``/proc``; no psutil needed. Every
child of the master counts as a worker, so gunicorn's optional "dirty
arbiter" (``--dirty-workers``, off by default) would be counted too.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoscalebot.backends.base import BaseBackend, ScalerError
from autoscalebot.backends.checks import require_absolute_heartbeat_url, require_min_at_least_one
from autoscalebot.config.settings import ConfigError, Settings

# Signals go out one at a time, each confirmed in the process table before
# the next: the kernel keeps one pending instance of a signal and Python runs
# a handler once for any number of arrivals, so a quick burst of N TTINs adds
# fewer than N workers (measured: 4 in a row added 2).
_POLL_SECONDS = 0.05
# A worker told to stop is killed by gunicorn after graceful_timeout (30 s by
# default); past this, an unfinished earlier scale is history, not a drain.
_PENDING_EXPIRY = 120.0


class ProcessTable:
    """The few facts about processes this scaler needs, read from ``/proc``.

    ``root`` is the proc mount (a fake tree in tests).
    """

    def __init__(self, root: Path = Path("/proc")) -> None:
        self.root = root

    def state_and_parent(self, pid: int) -> tuple[str, int] | None:
        """``(state letter, parent pid)`` of ``pid``, or None when it does not exist."""
        try:
            data = (self.root / str(pid) / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            return None
        # The command name (field 2) is in parentheses and may hold spaces or
        # parentheses itself, so the fields we want start after the last ")".
        fields = data[data.rindex(")") + 1 :].split()
        return fields[0], int(fields[1])

    def alive(self, pid: int) -> bool:
        """True when ``pid`` runs (exists and is neither a zombie nor dead)."""
        info = self.state_and_parent(pid)
        return info is not None and info[0] not in ("Z", "X", "x")

    def live_children(self, pid: int) -> list[int]:
        """The running (not zombie) child processes of ``pid``.

        A worker that has exited but not been reaped yet is a zombie: it
        serves nothing, so it is not counted.
        """
        children = []
        for entry in self.root.iterdir():
            if not entry.name.isdigit():
                continue
            info = self.state_and_parent(int(entry.name))
            if info is not None and info[1] == pid and info[0] not in ("Z", "X", "x"):
                children.append(int(entry.name))
        return sorted(children)

    def catches(self, pid: int, *signals: int) -> bool:
        """True when ``pid`` has handlers installed for all of ``signals``."""
        try:
            status = (self.root / str(pid) / "status").read_text()
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            return False
        for line in status.splitlines():
            if line.startswith("SigCgt:"):
                mask = int(line.split(":", 1)[1].strip(), 16)
                return all(mask & (1 << (sig - 1)) for sig in signals)
        return False


class GunicornScaler(BaseBackend):
    """Scales a gunicorn master's sync/gthread/... workers with TTIN and TTOU.

    The master's pid is read from ``GUNICORN_PIDFILE`` on every call, so a
    restarted gunicorn (new pid, same pidfile) is followed. Before any signal
    is sent the pid is checked to be alive and to handle TTIN and TTOU (a
    stale pidfile naming some other process must never get them: their
    default action stops a process). ``app_url()`` is None, so
    ``HEARTBEAT_URL`` must be a full URL.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        processes: ProcessTable | None = None,
        kill: Callable[[int, int], None] = os.kill,
        clock: Callable[[], float] = time.monotonic,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        if not settings.gunicorn_pidfile:
            raise ConfigError(
                "GUNICORN_PIDFILE",
                "is required to scale gunicorn",
                "Start gunicorn with --pid PATH and set GUNICORN_PIDFILE to that path.",
            )
        if processes is None and not Path("/proc/self/stat").exists():
            raise ConfigError(
                "SCALING_BACKEND",
                "the gunicorn scaler reads /proc, which this system lacks",
                "Run it on Linux.",
            )
        require_absolute_heartbeat_url(settings, "gunicorn")
        require_min_at_least_one(settings, "gunicorn always keeps at least one worker")
        self.pidfile = Path(settings.gunicorn_pidfile)
        self.timeout = settings.gunicorn_scale_timeout_in_seconds
        self._processes = processes or ProcessTable()
        self._kill = kill
        self._clock = clock
        self._closing = threading.Event()
        # (master pid, workers it was told to keep, when) of a scale that did not show in time.
        self._pending: tuple[int, int, float] | None = None

    def master_pid(self) -> int:
        """The running master's pid. Raises :class:`ScalerError` ``not_found``."""
        try:
            with self.pidfile.open("rb") as f:  # a pid is a few digits: read no more
                text = f.read(64).decode("ascii", "replace").strip()
        except FileNotFoundError:
            raise ScalerError(
                f"gunicorn is not running: {self.pidfile} does not exist (removed on exit)",
                kind="not_found",
            ) from None
        except OSError as exc:
            raise ScalerError(
                f"cannot read {self.pidfile}: {exc.strerror}", kind="forbidden"
            ) from None
        if not (text.isascii() and text.isdigit()):
            raise ScalerError(
                f"{self.pidfile} holds {text[:20]!r}, not a process id", kind="protocol"
            )
        pid = int(text)
        if not self._processes.alive(pid):
            raise ScalerError(
                f"the gunicorn master (pid {pid}, from {self.pidfile}) is gone; is it running?",
                kind="not_found",
            )
        if not self._processes.catches(pid, signal.SIGTTIN, signal.SIGTTOU):
            raise ScalerError(
                f"pid {pid} from {self.pidfile} does not handle TTIN/TTOU, so it is not a gunicorn "
                "master (stale pidfile?); no signal was sent",
                kind="not_found",
            )
        return pid

    def current(self) -> int:
        return len(self._processes.live_children(self.master_pid()))

    def scale_to(self, quantity: int) -> int:
        if quantity < 1:
            raise ScalerError(
                f"gunicorn cannot run {quantity} workers; it keeps at least one", kind="invalid"
            )
        pid = self.master_pid()
        deadline = self._clock() + self.timeout
        count = self._settle_earlier_scale(pid, deadline)
        sig = signal.SIGTTIN if quantity > count else signal.SIGTTOU
        step = 1 if sig == signal.SIGTTIN else -1
        sent = 0
        while count != quantity:
            self._signal(pid, sig)
            sent += 1
            # The master now means to keep count + step workers; if they do not
            # show in time, the next scale must start from there, not from the
            # live count (extra TTOUs would overshoot once workers did exit).
            self._pending = (pid, count + step, self._clock())
            count = self._await(
                pid,
                count + step,
                deadline,
                f"{sent} {signal.Signals(sig).name} signal(s)",
                quantity,
            )
        self._pending = None
        return count

    def _settle_earlier_scale(self, pid: int, deadline: float) -> int:
        """The count to scale from: the live count, once an earlier unfinished scale shows."""
        pending = self._pending
        if pending is not None and (
            pending[0] != pid or self._clock() - pending[2] > _PENDING_EXPIRY
        ):
            pending = self._pending = None
        if pending is None:
            return len(self._processes.live_children(pid))
        count = self._await(pid, pending[1], deadline, "an earlier scale", pending[1])
        self._pending = None
        return count

    def _await(self, pid: int, goal: int, deadline: float, after: str, wanted: int) -> int:
        """Poll until the live count is ``goal``; raise when the deadline passes."""
        while True:
            if not self._processes.alive(pid):
                raise ScalerError(
                    f"the gunicorn master (pid {pid}) exited while scaling", kind="not_found"
                )
            count = len(self._processes.live_children(pid))
            if count == goal:
                return count
            if self._clock() >= deadline or self._closing.is_set():
                raise ScalerError(
                    f"gunicorn has {count} workers {self.timeout:g} s after {after}; "
                    f"wanted {wanted} "
                    "(workers slow to boot, or still finishing requests?)",
                    kind="server",
                )
            self._closing.wait(_POLL_SECONDS)

    def _signal(self, pid: int, sig: int) -> None:
        try:
            self._kill(pid, sig)
        except ProcessLookupError:
            raise ScalerError(
                f"the gunicorn master (pid {pid}) exited while scaling", kind="not_found"
            ) from None
        except PermissionError:
            raise ScalerError(
                f"not allowed to signal the gunicorn master (pid {pid}); "
                "run the bot as gunicorn's user",
                kind="forbidden",
            ) from None

    @property
    def target(self) -> str:
        """What is scaled, for the start event: ``gunicorn /run/gunicorn.pid``."""
        return f"gunicorn {self.pidfile}"

    def app_url(self) -> str | None:
        """Unknown: gunicorn does not say where it is reachable from outside."""
        return None

    def close(self) -> None:
        self._closing.set()

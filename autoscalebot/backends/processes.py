"""Scaling backend: N copies of one worker command, run by the bot on this machine.

``PROCESS_COMMAND`` (e.g. ``rq worker high default`` or ``celery -A proj
worker --concurrency 1``) is split like a shell would, once, and run with no
shell. Scaling up starts copies; scaling down sends SIGTERM to the newest
ones, which is the warm shutdown of RQ and Celery (the job in hand finishes,
no new one is taken). The count is the copies running and not told to stop,
read from the children themselves, so a crashed worker is noticed.

Meant for one machine (a VM, a container with a process supervisor above
the bot, the closed-loop tests), not for dynos: on Heroku scale the worker
formation with the Heroku scaler.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from autoscalebot.backends.base import BaseBackend, ScalerError
from autoscalebot.config.settings import ConfigError, Settings


class ProcessGroupScaler(BaseBackend):
    """Keeps ``PROCESS_COMMAND`` running as many times as asked."""

    def __init__(self, settings: Settings, *, env: dict[str, str] | None = None, **_: Any) -> None:
        super().__init__(settings)
        command = settings.process_command
        if not command:
            raise ConfigError(
                "PROCESS_COMMAND",
                "is required by the process-group scaler",
                "Set it to one worker's command, e.g. 'rq worker default'.",
            )
        try:
            self.args = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(
                "PROCESS_COMMAND", f"cannot be split into arguments ({exc})", "Check its quotes."
            ) from None
        if not self.args:
            raise ConfigError("PROCESS_COMMAND", "is empty", "Set it, e.g. 'rq worker default'.")
        if os.sep not in self.args[0] and shutil.which(self.args[0]) is None:
            raise ConfigError(
                "PROCESS_COMMAND",
                f"{self.args[0]} is not on PATH",
                "Install it, or write its full path.",
            )
        self.grace = settings.command_timeout_in_seconds
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []
        self.stopping: list[subprocess.Popen[bytes]] = []

    def current(self) -> int:
        self._reap()
        return len(self.running)

    def scale_to(self, quantity: int) -> int:
        self._reap()
        while len(self.running) < quantity:
            self.running.append(self._start())
        while len(self.running) > quantity:
            proc = self.running.pop()  # the newest first: the oldest have warmed up
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            self.stopping.append(proc)
        return len(self.running)

    def app_url(self) -> str | None:
        """Workers have no URL."""
        return None

    def _start(self) -> subprocess.Popen[bytes]:
        program = Path(self.args[0]).name
        try:
            # Its own session, so a stuck worker and its children can be killed together.
            # Worker output goes to the bot's stderr: stdout is the bot's log of record.
            return subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ScalerError(
                f"PROCESS_COMMAND: {program} is not installed", kind="not_found"
            ) from None
        except PermissionError:
            raise ScalerError(
                f"PROCESS_COMMAND: {program} is not executable", kind="forbidden"
            ) from None
        except OSError as exc:
            raise ScalerError(
                f"PROCESS_COMMAND: {program} could not start: {exc.strerror}", kind="server"
            ) from None

    def _reap(self) -> None:
        self.running = [p for p in self.running if p.poll() is None]
        self.stopping = [p for p in self.stopping if p.poll() is None]

    def close(self) -> None:
        """Stop every copy: SIGTERM, then SIGKILL to its group after the grace period."""
        for proc in self.running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        procs = self.running + self.stopping
        self.running, self.stopping = [], []
        deadline = time.monotonic() + self.grace
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True

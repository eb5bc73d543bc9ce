"""Scaling backend: any platform with a command line (Dokku, CapRover, Nomad, a script).

``SCALE_COMMAND`` is a template such as ``dokku ps:scale myapp web={quantity}``;
``COUNT_COMMAND`` prints the current count (a whole number, alone on its
output). Both are split like a shell would (``shlex``) once, at start-up, and
``{quantity}`` (and ``{process_type}``) are substituted into each argument
after the split; no shell runs them. So no value can add an argument or a
command, whatever it holds.

A scale is confirmed by the command exiting 0: like an API answering a PATCH,
the platform has accepted the new count. A command that runs longer than
``COMMAND_TIMEOUT_IN_SECONDS`` is killed with everything it started, and of
its output only the last 64 KiB of each stream is kept: a command that prints
without end costs neither memory nor more than its time.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from autoscalebot.backends.base import BaseBackend, ScalerError
from autoscalebot.backends.checks import require_absolute_heartbeat_url
from autoscalebot.config.settings import ConfigError, Settings

_STDERR_CHARS = 300
# Of each output stream only the end is kept (where tools put the error);
# COUNT_COMMAND printing more than this is not printing a count.
MAX_OUTPUT_BYTES = 64 * 1024


class CommandScaler(BaseBackend):
    """Scales by running ``SCALE_COMMAND`` and reads the count from ``COUNT_COMMAND``."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        super().__init__(settings)
        require_absolute_heartbeat_url(settings, "command")
        self.scale_args = _split(
            "SCALE_COMMAND", settings.scale_command, "dokku ps:scale myapp web={quantity}"
        )
        self.count_args = _split(
            "COUNT_COMMAND", settings.count_command, "/usr/local/bin/web-count"
        )
        if not any("{quantity}" in arg for arg in self.scale_args):
            raise ConfigError(
                "SCALE_COMMAND",
                "has no {quantity} in it",
                "Write where the count goes, e.g. web={quantity}.",
            )
        self.process_type = settings.process_type
        self.timeout = settings.command_timeout_in_seconds

    def current(self) -> int:
        output = self._run("COUNT_COMMAND", self._fill(self.count_args, {}))
        if output is None:
            raise ScalerError(
                f"COUNT_COMMAND printed more than {MAX_OUTPUT_BYTES} bytes, not a whole number",
                kind="protocol",
            )
        output = output.strip()
        if not re.fullmatch(r"[0-9]+", output):
            shown = output if len(output) <= 40 else output[:40] + "..."
            raise ScalerError(
                f"COUNT_COMMAND printed {shown!r}, not a whole number", kind="protocol"
            )
        return int(output)

    def scale_to(self, quantity: int) -> int:
        self._run("SCALE_COMMAND", self._fill(self.scale_args, {"{quantity}": str(quantity)}))
        return quantity

    def _fill(self, template: list[str], values: dict[str, str]) -> list[str]:
        """Substitute into each argument after splitting: a value can never add an argument."""
        values = {"{process_type}": self.process_type, **values}
        args = []
        for arg in template:
            for key, value in values.items():
                arg = arg.replace(key, value)
            args.append(arg)
        return args

    @property
    def target(self) -> str:
        """What is scaled, for the start event: ``command dokku ps:scale myapp web={quantity}``."""
        return "command " + shlex.join(self.scale_args)

    def app_url(self) -> str | None:
        """Unknown: set HEARTBEAT_URL to a full URL."""
        return None

    def _run(self, setting: str, args: list[str]) -> str | None:
        """Run ``args``; its standard output (None when it overflowed the cap),
        or a :class:`ScalerError` saying what went wrong."""
        program = Path(args[0]).name
        try:
            # A session of its own, so a timeout kills the command's children too.
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ScalerError(
                f"{setting}: {program} is not installed (not on PATH)", kind="not_found"
            ) from None
        except PermissionError:
            raise ScalerError(f"{setting}: {program} is not executable", kind="forbidden") from None
        except OSError as exc:
            raise ScalerError(
                f"{setting}: {program} could not start: {exc.strerror}", kind="server"
            ) from None
        try:
            out, err = _bounded_output(proc, time.monotonic() + self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ScalerError(
                f"{setting} ({program}) was still running after {self.timeout:g} s and was killed",
                kind="network",
            ) from None
        if proc.returncode != 0:
            if proc.returncode < 0:
                status = f"was killed by signal {_signal_name(-proc.returncode)}"
            else:
                status = f"exited with status {proc.returncode}"
            detail = _trim(err.text) or _trim(out.text)
            raise ScalerError(
                f"{setting} ({program}) {status}" + (f": {detail}" if detail else ""), kind="server"
            )
        return None if out.overflowed else out.text


class _Tail:
    """The last ``MAX_OUTPUT_BYTES`` of a stream, and whether more came."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.overflowed = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > MAX_OUTPUT_BYTES:
            self.overflowed = True
            del self.data[:-MAX_OUTPUT_BYTES]

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _bounded_output(proc: subprocess.Popen[bytes], deadline: float) -> tuple[_Tail, _Tail]:
    """Read both pipes to their ends, keeping their tails; TimeoutExpired at ``deadline``.

    ``communicate`` would keep everything a command prints in memory.
    """
    tails = {proc.stdout: _Tail(), proc.stderr: _Tail()}
    with selectors.DefaultSelector() as selector:
        for pipe in tails:
            selector.register(pipe, selectors.EVENT_READ)  # type: ignore[arg-type]
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, 0)
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    tails[key.fileobj].add(chunk)  # type: ignore[index]
                else:
                    selector.unregister(key.fileobj)
    for pipe in tails:
        pipe.close()  # type: ignore[union-attr]
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise subprocess.TimeoutExpired(proc.args, 0) from None
    return tails[proc.stdout], tails[proc.stderr]


def _split(setting: str, command: str | None, example: str) -> list[str]:
    if not command:
        raise ConfigError(
            setting, "is required by the command scaler", f"Set it, e.g. {example!r}."
        )
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(
            setting, f"cannot be split into arguments ({exc})", "Check its quotes."
        ) from None
    if not args:
        raise ConfigError(setting, "is empty", f"Set it, e.g. {example!r}.")
    if "{" in args[0]:
        raise ConfigError(
            setting,
            "starts with a placeholder",
            "The program must be fixed; placeholders go in its arguments.",
        )
    if os.sep not in args[0] and shutil.which(args[0]) is None:
        raise ConfigError(
            setting, f"{args[0]} is not on PATH", "Install it, or write its full path."
        )
    return args


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _trim(text: str) -> str:
    """The last lines of ``text`` (where tools put the error), on one line, bounded."""
    text = " ".join(text.strip().splitlines()[-3:]).strip()
    return text if len(text) <= _STDERR_CHARS else "..." + text[-_STDERR_CHARS:]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command and everything it started; it is not reaped yet, so its group is ours."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    # Reap it; a grandchild in a session of its own may hold the pipes, which
    # are closed here, not read: it may print for ever.
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)

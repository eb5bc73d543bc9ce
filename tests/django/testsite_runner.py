"""Running the test site's ``manage.py`` as a new user would: in a subprocess, bounded in time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent / "project"
MANAGE = PROJECT / "manage.py"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment minus AUTOSCALE_/HEROKU_ names and DJANGO_SETTINGS_MODULE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSCALE_", "HEROKU_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py sets its own
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _manage_py(*args: str, env: dict[str, str]) -> dict[str, object]:
    """What both runners pass to subprocess: manage.py ARGS in the project folder."""
    argv = [sys.executable, str(MANAGE), *args]
    return {"args": argv, "cwd": PROJECT, "env": env, "stdin": subprocess.DEVNULL, "text": True}


def manage(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python manage.py ARGS`` to completion (killed after ``timeout`` seconds)."""
    return subprocess.run(**_manage_py(*args, env=env), capture_output=True, timeout=timeout)  # type: ignore[call-overload]


def start_manage(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """``python manage.py ARGS`` in the background, stdout to ``log`` and stderr to ``log``.err.

    Files, not pipes: a chatty server can never block on a full pipe. Stop it
    with :func:`stop`.
    """
    with open(log, "w") as out, open(f"{log}.err", "w") as err:
        return subprocess.Popen(**_manage_py(*args, env=env), stdout=out, stderr=err)  # type: ignore[call-overload]


def stop(proc: subprocess.Popen[str], timeout: float = 10) -> int:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=timeout)


def wait_for_line(log: Path, needle: str, proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """Wait until a line of ``log`` contains ``needle``; returns that line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if needle in line:
                return line
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    err = Path(f"{log}.err").read_text()[-2000:]
    raise AssertionError(f"no line with {needle!r} in {log.name} within {timeout} s; stderr: {err}")


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_ok(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """Poll ``url`` until it answers 200; fail if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with status {proc.returncode}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s (last: {last!r})")

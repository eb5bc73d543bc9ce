"""Real loopback servers and the real CLI as a subprocess."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from autoscalebot.emulator.heartbeat import HeartbeatServer
from autoscalebot.emulator.heroku import HerokuEmulator

APP = "itest-app"
KEY = "itest-planted-key-5f3c9a"


class CLI:
    """A running ``autoscalebot`` process whose stdout lines are collected."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autoscalebot.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        """Poll ``predicate`` (bounded in time); True once it holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self.proc.poll() is not None:
                return predicate()
            time.sleep(0.05)
        return False

    def events(self, kind: str) -> list[str]:
        return [line for line in self.lines if f" event={kind} " in line + " "]

    def terminate(self, timeout: float = 5.0) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds it took to exit)."""
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        took = time.monotonic() - started
        self._reader.join(2)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        return code, took


@pytest.fixture
def heroku():
    with HerokuEmulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def heartbeat():
    with HeartbeatServer() as server:
        yield server


@pytest.fixture
def run_cli(heroku, heartbeat, tmp_path):
    """Start the CLI against the emulator and the heartbeat server."""
    started: list[CLI] = []

    def start(
        *args: str, quantity: int = 1, env: dict[str, str] | None = None, app_url: str | None = None
    ) -> CLI:
        try:
            heroku.add_app(APP, web_url=app_url or heartbeat.url + "/", formation={"web": quantity})
        except ValueError:  # a second run against the same app (a restart)
            heroku.set_quantity(APP, "web", quantity)
        full_env = (
            {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSCALE_", "HEROKU_"))}
            | {
                "HEROKU_API_KEY": KEY,
                "HEROKU_APP_NAME": APP,
                "HEROKU_API_URL": heroku.url,
                "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                "PYTHONUNBUFFERED": "1",
            }
            | (env or {})
        )
        defaults = [
            "--headless",
            "--interval",
            "0.1",
            "--set",
            "MAX_RESPONSE_TIME_IN_MS=150",
            "--set",
            "MIN_RESPONSE_TIME_IN_MS=40",
            "--set",
            "COUNT_REFRESH_IN_SECONDS=0.5",
            "--duration",
            "60",
        ]
        cli = CLI(defaults + list(args), full_env, tmp_path)
        started.append(cli)
        return cli

    yield start
    for cli in started:
        if cli.proc.poll() is None:
            cli.proc.kill()
            cli.proc.wait()

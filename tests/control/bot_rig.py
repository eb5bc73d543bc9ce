"""A real bot in-process: an engine thread on in-memory backends serving a control socket."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoscalebot.config import build_settings
from autoscalebot.control.client import Connection
from autoscalebot.control.server import ControlServer, Formation
from autoscalebot.engine.engine import Engine
from autoscalebot.runtime import EngineThread
from tests.conftest import MemoryScaler, ScriptedProbe

FORMATION = Formation("shop/web", "shop", "web", "heroku", "saved nowhere (test)")


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


class Bot:
    """An engine thread (20 ms beats, in-memory platform) serving a control socket."""

    def __init__(self, path: Path, **server_options: Any) -> None:
        self.settings = build_settings(
            {
                "HEROKU_APP_NAME": "shop",
                "HEROKU_API_KEY": "k-not-sent",
                "HEARTBEAT_INTERVAL_IN_SECONDS": 0.02,
                "MAX_DYNOS": 5,
                "MANUAL_HOLD_IN_SECONDS": 600,
                "MIN_RESPONSE_TIME_IN_MS": 50,
                "TIME_ZONE": "UTC",
            }
        )
        self.server = ControlServer(path, FORMATION, **server_options).bind()
        self.scaler = MemoryScaler(2)
        self.probe = ScriptedProbe()
        self.probe.default = 100.0  # between the thresholds: ok beats, no automatic scaling
        self.engine = Engine(
            self.settings,
            sink=self.server.publish,
            probe=self.probe,
            scaler=self.scaler,
            notifiers=[],
            notify_async=False,
        )
        self.server.start(self.engine)
        self.thread = EngineThread(self.engine).start()

    def close(self) -> None:
        self.thread.stop(2.0)
        self.server.close()

    def alive(self) -> bool:
        """The engine still beats and a new client still gets an answer."""
        beats = self.probe.calls
        wait_until(lambda: self.probe.calls > beats + 2)
        conn = Connection(self.server.path)
        try:
            return conn.request({"command": "status"})["ok"] is True
        finally:
            conn.close()


FLEET = (
    Formation("shop/web", "shop", "web", "heroku", "shop/web: saved nowhere (test)"),
    Formation("shop/worker", "shop", "worker", "heroku", "shop/worker: saved nowhere (test)"),
    Formation("blog/web", "blog", "web", "heroku", "blog/web: saved nowhere (test)"),
)


class FleetBot:
    """A bot of several formations: a real Fleet of engines (``interval``
    between beats, in-memory platforms) on its engine thread, serving one
    control socket."""

    def __init__(
        self, path: Path, formations: tuple[Formation, ...] = FLEET, interval: float = 0.1
    ) -> None:
        from autoscalebot.engine.fleet import Fleet

        self.server = ControlServer(path, formations).bind()
        self.scalers: dict[str, MemoryScaler] = {}
        self.probes: dict[str, ScriptedProbe] = {}
        self.engines: dict[str, Engine] = {}
        for n, f in enumerate(formations):
            settings = build_settings(
                {
                    "HEROKU_APP_NAME": f.app,
                    "PROCESS_TYPE": f.process_type,
                    "HEROKU_API_KEY": "k-not-sent",
                    "HEARTBEAT_INTERVAL_IN_SECONDS": interval,
                    "MAX_DYNOS": 5 + n,
                    "MANUAL_HOLD_IN_SECONDS": 600,
                    "MIN_RESPONSE_TIME_IN_MS": 50,
                    "TIME_ZONE": "UTC",
                }
            )
            self.scalers[f.id] = MemoryScaler(2)
            probe = self.probes[f.id] = ScriptedProbe()
            probe.default = 100.0 + 10 * n  # between the thresholds: no automatic scaling
            self.engines[f.id] = Engine(
                settings,
                sink=self.server.sink_for(f.id),
                probe=probe,
                scaler=self.scalers[f.id],
                notifiers=[],
                notify_async=False,
            )
        self.server.start(self.engines)
        self.thread = EngineThread(Fleet(self.engines)).start()

    def close(self) -> None:
        self.thread.stop(2.0)
        self.server.close()

"""The embedded demo: a simulated web app and the Heroku emulator, both on loopback.

The bot runs its real heartbeat probe against the simulated app over HTTP
and its real Heroku client against the emulator. The app is the simulator's
model (``autoscalebot.sim.model``) with one worker per dyno: each heartbeat
is one draw from an M/M/1-per-dyno response time at the current load, and
the load follows a one-minute story: calm, a surge, calm again. So within a
minute the bot scales up under the surge and back down after it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autoscalebot.emulator.heroku import HerokuEmulator
from autoscalebot.sim.model import AppModel, sample_latency_ms

DEMO_APP = "autoscalebot-demo"
DEMO_KEY = "demo-key-not-a-secret"


@dataclass(frozen=True)
class LoadStory:
    """Requests per second over a repeating cycle: calm, surge, calm."""

    calm_rps: float = 6.0
    surge_rps: float = 24.0
    surge_start: float = 8.0
    surge_end: float = 35.0
    cycle: float = 60.0

    def rps(self, t: float) -> float:
        phase = t % self.cycle
        return self.surge_rps if self.surge_start <= phase < self.surge_end else self.calm_rps


class SimulatedApp:
    """A web app on loopback whose heartbeat answers as slowly as its load says.

    ``dynos`` is asked on every request (the emulator's formation), and a new
    dyno serves only ``boot_seconds`` after it appears, as on Heroku.
    """

    def __init__(
        self,
        dynos: Callable[[], int],
        *,
        story: LoadStory | None = None,
        boot_seconds: float = 2.0,
        seed: int = 7,
        path: str = "/autoscalebot/heartbeat/",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.story = story or LoadStory()
        self.model = AppModel(service_ms=100.0, concurrency=1, boot_seconds=boot_seconds)
        self.cap_ms = 1800.0  # an overloaded app still answers, slowly
        self.path = path
        self._dynos = dynos
        self._boot = boot_seconds
        self.boot_seconds = boot_seconds
        """How long a new dyno takes to serve."""
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._serving: list[tuple[float, int]] = []  # (since, count) history
        self._stopping = threading.Event()
        self._t0 = clock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns at once
            name="demo-app",
            daemon=True,
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/"

    def start(self) -> SimulatedApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def serving_dynos(self) -> int:
        """Dynos that have finished booting."""
        now = self._clock()
        count = self._dynos()
        with self._lock:
            if not self._serving or self._serving[-1][1] != count:
                self._serving.append((now, count))
                del self._serving[:-20]
            booted = [c for since, c in self._serving if now - since >= self._boot]
            older = booted[-1] if booted else self._serving[0][1]
        # Scaling down is instant; scaling up waits for the boot.
        return min(count, older)

    def latency_ms(self) -> float:
        """What a heartbeat would take right now."""
        rps = self.story.rps(self._clock() - self._t0)
        serving = self.serving_dynos()
        with self._lock:
            draw = sample_latency_ms(self.model, rps, serving, self._random)
        return min(draw, self.cap_ms)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.split("?")[0] != app.path:
                    self.send_error(404)
                    return
                app._stopping.wait(app.latency_ms() / 1000.0)
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class DemoWorld:
    """The emulator and the simulated app, started together; a context manager."""

    def __init__(self, *, story: LoadStory | None = None) -> None:
        self.app = SimulatedApp(lambda: self.emulator.quantity(DEMO_APP), story=story)
        # The emulator's dynos boot as long as the simulated app's: the console
        # shows "1 up, 1 starting" while a new dyno is not yet serving.
        self.emulator = HerokuEmulator(api_key=DEMO_KEY, boot_seconds=self.app.boot_seconds)

    def start(self) -> DemoWorld:
        self.emulator.start()
        self.app.start()
        self.emulator.add_app(DEMO_APP, web_url=self.app.url, formation={"web": 1})
        return self

    def stop(self) -> None:
        self.app.stop()
        self.emulator.stop()

    def __enter__(self) -> DemoWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings(self) -> dict[str, Any]:
        """Seed-named settings that point the bot at this world."""
        return {
            "HEROKU_APP_NAME": DEMO_APP,
            "HEROKU_API_KEY": DEMO_KEY,
            "HEROKU_API_URL": self.emulator.url,
            "HEARTBEAT_INTERVAL_IN_SECONDS": 1.0,
            # The simulated app's own profile, for the policies that model the app
            # (adaptive, hpa): the defaults describe a different app.
            "APP_SERVICE_TIME_IN_MS": self.app.model.service_ms,
            "APP_CONCURRENCY": self.app.model.concurrency,
            "APP_BOOT_SECONDS": self.app.boot_seconds,
            "MAX_DYNOS": 5,
            "MIN_DYNOS": 1,
            "COUNT_REFRESH_IN_SECONDS": 5.0,
            "MANUAL_HOLD_IN_SECONDS": 10.0,
            "NOTIFY_ON_EVERY_SCALE": True,
            "NOTIFICATION_BACKENDS": [],
        }

"""A console over an engine on a fake clock with in-memory backends.

Nothing here opens a socket or starts a thread: tests step the engine
(``rig.beat()``) on the app's own loop, so every screen is reproducible.
The fakes are the engine tests' own (``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoscalebot.backends.policy import StreakPolicy
from autoscalebot.config import Settings, build_settings
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from autoscalebot.tui.app import AutoscaleApp
from tests.conftest import MemoryScaler, ScriptedProbe

PLANTED_KEY = "sk-PLANTED-4f1d-never-on-screen"
"""A distinctive fake API key; no screen may ever show it."""

BASE_SETTINGS: dict[str, Any] = {
    "HEROKU_APP_NAME": "shop-web",
    "HEROKU_API_KEY": PLANTED_KEY,
    "TIME_ZONE": "UTC",
    "HEARTBEAT_INTERVAL_IN_SECONDS": 30.0,
    "MIN_DYNOS": {"0:00": 1, "18:00": 2},
    "MAX_DYNOS": 4,
    "MANUAL_HOLD_IN_SECONDS": 120.0,
    "NOTIFY_ON_EVERY_SCALE": True,
}


def make_settings(origins: dict[str, str] | None = None, **changes: Any) -> Settings:
    """Test settings: BASE_SETTINGS with ``changes`` (seed names); ``origins``
    says where some came from ("env", "flag"), as the loader would."""
    return build_settings(BASE_SETTINGS | changes, origins=origins)


@dataclass
class Rig:
    """The app, its engine's fake world, and how to step it."""

    app: AutoscaleApp
    clock: FakeClock
    probe: ScriptedProbe
    scaler: MemoryScaler
    config_path: Path
    beats: int = field(default=0)

    @property
    def engine(self) -> Engine:
        assert self.app.engine is not None, "the app is not running yet"
        return self.app.engine

    def beat(self, n: int = 1) -> None:
        """Apply queued commands and run ``n`` beats, one interval apart."""
        for _ in range(n):
            self.engine.apply_commands()
            self.engine.tick()
            self.clock.advance(self.engine.settings.heartbeat_interval_in_seconds)
            self.beats += 1

    def commands(self) -> None:
        """Apply queued commands now (as the engine thread would between beats)."""
        self.engine.apply_commands()


def make_rig(
    tmp_path: Path,
    latencies: Iterable[float | None] = (),
    *,
    dynos: int = 2,
    origins: dict[str, str] | None = None,
    **changes: Any,
) -> Rig:
    """A console on a fake world; ``latencies`` script the heartbeat."""
    settings = make_settings(origins, **changes)
    clock = FakeClock()
    probe = ScriptedProbe(latencies)
    probe.default = probe.beats[-1] if probe.beats else 300.0  # then the last one, for ever
    scaler = MemoryScaler(dynos)
    config_path = tmp_path / "autoscalebot.toml"

    def factory(sink: Any) -> Engine:
        return Engine(
            settings,
            sink=sink,
            clock=clock,
            probe=probe,
            policy=StreakPolicy(settings),
            scaler=scaler,
            notifiers=[],
            notify_async=False,
        )

    app = AutoscaleApp(
        settings, engine_factory=factory, config_path=config_path, threaded=False, now=clock.now
    )
    return Rig(app, clock, probe, scaler, config_path)


SLOW_THEN_FAST = (120, 150, 430, 700, 1250, 1400, 1600, 900, 260, 180, 140, 120)
"""Latencies that scale up after the third slow beat, then calm down."""


def screen_text(app: AutoscaleApp) -> str:
    """The screen as plain text (what a person would read), for assertions."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def until(
    pilot: Any, condition: Any, timeout: float = 5.0, what: str = "a condition"
) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.01)


def log_texts(app: AutoscaleApp) -> list[str]:
    """The log's lines, as words."""
    return [line.text for line in app.event_log.recent]


FLEET_ENTRIES: tuple[dict[str, Any], ...] = (
    {"PROCESS_TYPE": "web"},
    {
        "PROCESS_TYPE": "worker",
        "MAX_DYNOS": 8,
        "MEASUREMENT_BACKEND": "autoscalebot.backends.queues.RQProbe",
    },
    {"HEROKU_APP_NAME": "blog", "MIN_DYNOS": 1, "MAX_DYNOS": 3},
)
"""Three formations: the shop's web and its job queue, and a blog."""

WEB, WORKER, BLOG = "shop-web/web", "shop-web/worker", "blog/web"


@dataclass
class FleetRig:
    """A console over several formations' engines, each on its own fake world
    (one fake clock for all), stepped by the test."""

    app: AutoscaleApp
    clock: FakeClock
    probes: dict[str, ScriptedProbe]
    scalers: dict[str, MemoryScaler]

    def engine(self, fid: str) -> Engine:
        engine = self.app.formations[fid].engine
        assert engine is not None, "the app is not running yet"
        return engine

    def beat(self, n: int = 1) -> None:
        """Apply queued commands and run ``n`` beats of every formation."""
        for _ in range(n):
            for fid in self.app.formations:
                self.engine(fid).apply_commands()
                self.engine(fid).tick()
            self.clock.advance(30.0)

    def commands(self) -> None:
        for fid in self.app.formations:
            self.engine(fid).apply_commands()


def make_fleet_rig(
    tmp_path: Path,
    latencies: dict[str, Iterable[float | None]] | None = None,
    *,
    entries: tuple[dict[str, Any], ...] = FLEET_ENTRIES,
) -> FleetRig:
    """A console over several formations (``FORMATIONS``) on a fake world;
    ``latencies`` script each formation's heartbeat (default 300 ms)."""
    from autoscalebot.config.formations import formations_of

    settings = make_settings(FORMATIONS=list(entries))
    formations = formations_of(settings)
    clock = FakeClock()
    probes: dict[str, ScriptedProbe] = {}
    scalers: dict[str, MemoryScaler] = {}
    for fid in formations:
        probe = probes[fid] = ScriptedProbe((latencies or {}).get(fid, ()))
        probe.default = probe.beats[-1] if probe.beats else 300.0
        scalers[fid] = MemoryScaler(2)

    def factory(fid: str, one: Settings, sink: Any) -> Engine:
        return Engine(
            one,
            sink=sink,
            clock=clock,
            probe=probes[fid],
            policy=StreakPolicy(one),
            scaler=scalers[fid],
            notifiers=[],
            notify_async=False,
        )

    app = AutoscaleApp(
        settings,
        formations=formations,
        formation_factory=factory,
        config_path=tmp_path / "many.toml",
        threaded=False,
        now=clock.now,
    )
    return FleetRig(app, clock, probes, scalers)


def attached_app(path: Path) -> AutoscaleApp:
    """The console as ``autoscalebot-tui --attach PATH`` builds it."""
    from autoscalebot.config import SPEC
    from autoscalebot.control.client import Connection

    conn = Connection(path)
    conn.close()
    origins = conn.hello.origins | {s.name: "bot" for s in SPEC if s.secret}
    settings = build_settings(conn.hello.settings, origins=origins, require_platform=False)
    return AutoscaleApp(settings, attach=path, hello=conn.hello)

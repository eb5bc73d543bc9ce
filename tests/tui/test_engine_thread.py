"""Events from other threads, and the engine thread's life and death."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoscalebot.backends.base import Measurement
from autoscalebot.backends.policy import StreakPolicy
from autoscalebot.engine import events as ev
from autoscalebot.engine.engine import Engine
from autoscalebot.tui.app import AutoscaleApp
from tests.conftest import MemoryScaler, ScriptedProbe
from tests.tui.tui_rig import SLOW_THEN_FAST, log_texts, make_rig, make_settings, until

pytestmark = pytest.mark.anyio

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _beat(i: int, latency: float = 420.0) -> ev.Beat:
    return ev.Beat(AT, latency, 200, None, "ok", {"fails": (0, 3), "passes": (0, 5)}, 2)


async def test_events_posted_from_another_thread_reach_every_panel(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        rig.beat()  # the engine's own start: status, window
        await pilot.pause()

        def engine_side() -> None:
            for i in range(200):
                rig.app.sink(_beat(i))
            rig.app.sink(ev.Scaled(AT, 2, 3, "3 beats over 1000 ms: 1250, 1400, 1600", False))
            rig.app.sink(ev.OperatorAction(AT, "force", "already 4 dynos (at MAX_DYNOS)", False))

        worker = threading.Thread(target=engine_side, name="fake-engine")
        worker.start()
        worker.join(5)
        await until(pilot, lambda: rig.app.chart.total == 201, what="every beat")
        await until(pilot, lambda: len(log_texts(rig.app)) >= 3, what="the log lines")
        assert "scaled up 2 → 3 automatically: 3 beats over 1000 ms: 1250, 1400, 1600" in log_texts(
            rig.app
        )
        assert "refused force: already 4 dynos (at MAX_DYNOS)" in log_texts(rig.app)
        assert rig.app.chart.beats[-1].latency_ms == 420.0


def _threaded_app(tmp_path: Path, probe: Any) -> AutoscaleApp:
    """The console with its engine on a real thread and real clock, fast beats."""
    settings = make_settings(HEARTBEAT_INTERVAL_IN_SECONDS=0.02)

    def factory(sink: ev.Sink) -> Engine:
        return Engine(
            settings,
            sink=sink,
            probe=probe,
            policy=StreakPolicy(settings),
            scaler=MemoryScaler(2),
            notifiers=[],
        )

    return AutoscaleApp(settings, engine_factory=factory, config_path=tmp_path / "x.toml")


def _engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "autoscalebot-engine" and t.is_alive()]


async def test_the_engine_beats_on_its_thread_and_quitting_stops_it(tmp_path: Path) -> None:
    probe = ScriptedProbe()
    probe.default = 1500.0  # slow: the engine scales up on its own
    app = _threaded_app(tmp_path, probe)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.chart.total >= 5, what="beats from the engine thread")
        await until(pilot, lambda: any("scaled up" in t for t in log_texts(app)), what="a scale")
        assert app.runner is not None and app.runner.alive
        await pilot.press("p")
        await until(pilot, lambda: app.status is not None and app.status.paused, what="the pause")
        await pilot.press("q")
    assert app.runner is not None and not app.runner.alive
    assert _engine_threads() == []


class _StuckProbe:
    """A heartbeat that never answers until released (a request in flight)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def measure(self) -> Measurement:
        self.entered.set()
        self.release.wait(30)
        return Measurement(None, error="timed out")

    def close(self) -> None:
        pass


async def test_quitting_mid_request_returns_within_a_second(tmp_path: Path) -> None:
    probe = _StuckProbe()
    app = _threaded_app(tmp_path, probe)
    try:
        async with app.run_test() as pilot:
            await until(pilot, probe.entered.is_set, what="the request to start")
            started = time.monotonic()
            await pilot.press("q")
        took = time.monotonic() - started
        assert took < 1.5, f"quitting took {took:.2f} s"
    finally:
        probe.release.set()
        if app.runner is not None:
            app.runner.join(5)
    assert _engine_threads() == []


async def test_an_event_before_the_log_is_styled_waits_its_turn(tmp_path: Path) -> None:
    from autoscalebot.tui.widgets import EventLog

    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        late = EventLog(rig.app.clockface)  # not mounted yet: no styles
        assert late.add(ev.Drift(AT, 2, 3)) is None
        assert late.add(ev.Recovered(AT, "probe")) is None
        await rig.app.screen.mount(late)
        await until(pilot, lambda: len(late.recent) == 2, what="the waiting lines")
        assert [line.glyph for line in late.recent] == ["≠", "✓"]

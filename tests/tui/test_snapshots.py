"""Snapshots of the console's main states (pytest-textual-snapshot).

Each state is built the same way every run: an engine on a fake clock,
scripted latencies, an in-memory platform, times shown in UTC. Update the
stored SVGs with ``pytest tests/tui --snapshot-update`` after a deliberate
change, and look at them (``snapshot_report.html``) before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from autoscalebot.backends.base import ScalerError
from autoscalebot.tui.dialogs import ThresholdsDialog
from tests.tui.tui_rig import (
    BLOG,
    PLANTED_KEY,
    SLOW_THEN_FAST,
    WORKER,
    FleetRig,
    Rig,
    make_fleet_rig,
    make_rig,
)

# Calm, a surge that scales up, calm again, then fast enough to count passes.
LATENCIES = (*SLOW_THEN_FAST, 110, 95, 260, 520, 180, 150, None, 1300, 140, 120)

SHOWN_CONFIG_PATH = Path("~/.config/autoscalebot/autoscalebot.toml")

State = Callable[[Rig, Any], Awaitable[None]]


async def dashboard(rig: Rig, pilot: Any) -> None:
    """After a scale-up and some calm beats."""
    rig.beat(len(LATENCIES))
    await pilot.pause()


async def paused(rig: Rig, pilot: Any) -> None:
    """Paused before the surge: the bot wants more dynos and waits."""
    rig.beat(3)
    await pilot.press("p")
    rig.beat(8)
    await pilot.pause()


async def manual_hold(rig: Rig, pilot: Any) -> None:
    """The operator forced a scale up: automatic scaling holds."""
    rig.beat(4)
    await pilot.press("plus")
    rig.beat(2)
    await pilot.pause()


async def api_trouble(rig: Rig, pilot: Any) -> None:
    """The platform answers 503 to every call."""
    rig.beat(4)
    failure = ScalerError("Heroku answered 503 (server error); will retry", kind="server")
    rig.scaler.fail_reads = [failure] * 50
    rig.scaler.fail_next = [failure] * 50
    rig.beat(4)
    await pilot.pause()


async def editor(rig: Rig, pilot: Any) -> None:
    """The threshold editor over the dashboard."""
    rig.beat(6)
    await pilot.press("e")
    await pilot.pause()
    for box in rig.app.screen.query(Input):
        box.cursor_blink = False  # a blinking cursor would differ run to run


async def editor_refusing(rig: Rig, pilot: Any) -> None:
    """The editor refusing MIN_RESPONSE_TIME_IN_MS above MAX."""
    await editor(rig, pilot)
    dialog = rig.app.screen
    assert isinstance(dialog, ThresholdsDialog)
    dialog.field("MIN_RESPONSE_TIME_IN_MS").focus()
    await pilot.press(*"1500", "ctrl+s")
    await pilot.pause()


async def help_screen(rig: Rig, pilot: Any) -> None:
    """The help dialog."""
    rig.beat(2)
    await pilot.press("question_mark")
    await pilot.pause()


STATES: dict[str, State] = {
    "dashboard": dashboard,
    "paused": paused,
    "manual_hold": manual_hold,
    "api_trouble": api_trouble,
    "editor": editor,
    "editor_refusing": editor_refusing,
    "help": help_screen,
}


def _compare(
    snap_compare: Any, tmp_path: Path, state: State, size: tuple[int, int] = (80, 24)
) -> bool:
    rig = make_rig(tmp_path, LATENCIES)
    rig.app.config_path = SHOWN_CONFIG_PATH  # shown in the editor; nothing is saved here

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await state(rig, pilot)

    return snap_compare(rig.app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("name", STATES)
def test_state(snap_compare: Any, tmp_path: Path, name: str) -> None:
    assert _compare(snap_compare, tmp_path, STATES[name])


def test_dashboard_large(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, tmp_path, dashboard, size=(120, 40))


def test_dashboard_no_color(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert _compare(snap_compare, tmp_path, dashboard)


@pytest.mark.anyio
@pytest.mark.parametrize("name", STATES)
async def test_no_screen_shows_the_api_key(tmp_path: Path, name: str) -> None:
    rig = make_rig(tmp_path, LATENCIES)
    async with rig.app.run_test(size=(120, 40), notifications=True) as pilot:
        await STATES[name](rig, pilot)
        svg = rig.app.export_screenshot()
    assert PLANTED_KEY not in svg
    assert "shop-web" in svg  # the screenshot did capture the console


async def overview(rig: FleetRig, pilot: Any) -> None:
    """Three formations: the queue scaled up after a surge, the blog's API
    failing, the shop's web paused by the operator."""
    rig.beat(4)
    await pilot.press("p")  # the first row: the shop's web
    failure = ScalerError("Heroku answered 503 (server error); will retry", kind="server")
    rig.scalers[BLOG].fail_reads = [failure] * 50
    rig.beat(2)
    await pilot.pause()


def _fleet(tmp_path: Path) -> FleetRig:
    return make_fleet_rig(tmp_path, {WORKER: (900, 1500, 1700, 1900, 600, 400, 300)})


def test_overview(snap_compare: Any, tmp_path: Path) -> None:
    rig = _fleet(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await overview(rig, pilot)

    assert snap_compare(rig.app, terminal_size=(100, 24), run_before=run_before)


@pytest.mark.anyio
async def test_the_overview_does_not_show_the_api_key(tmp_path: Path) -> None:
    rig = _fleet(tmp_path)
    async with rig.app.run_test(size=(120, 40), notifications=True) as pilot:
        await overview(rig, pilot)
        svg = rig.app.export_screenshot()
    assert PLANTED_KEY not in svg
    assert "worker" in svg  # the screenshot did capture the overview


def test_no_stored_snapshot_shows_the_api_key() -> None:
    stored = list((Path(__file__).parent / "__snapshots__").rglob("*.svg"))
    assert len(stored) >= 9, "run pytest tests/tui --snapshot-update to create them"
    for svg in stored:
        assert PLANTED_KEY not in svg.read_text("utf-8"), svg

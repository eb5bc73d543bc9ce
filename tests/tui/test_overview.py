"""The console over several formations: an overview with a row each, a
dashboard per formation, keys that act on the selected formation only, and P
that pauses them all; standalone (a fleet of engines) and attached to a bot
of several formations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoscalebot.backends.base import Measurement, QueueSample, ScalerError
from autoscalebot.engine.fleet import Fleet
from autoscalebot.tui.app import AutoscaleApp
from autoscalebot.tui.dashboard import Dashboard
from autoscalebot.tui.dialogs import ThresholdsDialog
from autoscalebot.tui.overview import OverviewScreen
from tests.control.bot_rig import FleetBot
from tests.tui.tui_rig import (
    BLOG,
    WEB,
    WORKER,
    FleetRig,
    attached_app,
    make_fleet_rig,
    make_rig,
    screen_text,
    until,
)

pytestmark = pytest.mark.anyio

SIZE = (110, 30)


def row(app: AutoscaleApp, fid: str) -> list[str]:
    """Formation ``fid``'s row of the overview, as words."""
    overview = app.overview
    assert overview is not None
    return [str(cell) for cell in overview.table.get_row(fid)]


def paused(rig: FleetRig) -> dict[str, bool]:
    return {fid: rig.engine(fid).paused for fid in rig.app.formations}


async def select(pilot: Any, app: AutoscaleApp, fid: str) -> None:
    """Move the overview's cursor to ``fid`` with the arrow keys."""
    overview = app.overview
    assert overview is not None
    target = list(app.formations).index(fid)
    for _ in range(len(app.formations)):
        if overview.table.cursor_row == target:
            break
        await pilot.press("down" if overview.table.cursor_row < target else "up")
    assert overview.selected is not None and overview.selected.id == fid


async def test_the_overview_shows_a_row_per_formation_and_keeps_them_live(
    tmp_path: Path,
) -> None:
    rig = make_fleet_rig(tmp_path, {WORKER: (1500,), BLOG: (None,)})
    async with rig.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(rig.app.screen, OverviewScreen)
        assert rig.app.overview is not None and rig.app.overview.table.row_count == 3
        rig.beat(2)
        await pilot.pause()
        assert row(rig.app, WEB)[:6] == [WEB, "heroku", "2 / 1–4", "300 ms", "–", "RUNNING"]
        # The worker's beats measure a queue: its wait, and the streak that runs.
        assert row(rig.app, WORKER)[2:5] == ["2 / 1–8", "wait 1500 ms", "fails 2/3"]
        assert row(rig.app, BLOG)[3] != "300 ms"  # its heartbeat never answered
        rig.probes[WEB].default = Measurement(420.0, queues=(QueueSample("mail", 14, 420.0),))
        rig.beat(1)
        await pilot.pause()
        assert row(rig.app, WEB)[3] == "wait 420 ms, 14 jobs"  # the beat says it is a queue
        rig.probes[WEB].default = 300.0
        assert row(rig.app, WORKER)[2] == "3 / 1–8"  # its third slow beat scaled it up
        assert row(rig.app, WEB)[2] == "2 / 1–4"  # the others did not move
        rig.scalers[BLOG].fail_reads = [ScalerError("Heroku answered 503", kind="server")] * 20
        rig.beat(2)
        await pilot.pause()
        assert row(rig.app, BLOG)[6].startswith("API TROUBLE")
        assert row(rig.app, WEB)[6] == ""
        text = screen_text(rig.app)
        assert "3 formations" in text and "1 in trouble" in text


async def test_enter_opens_the_selected_formations_dashboard_and_escape_goes_back(
    tmp_path: Path,
) -> None:
    rig = make_fleet_rig(tmp_path, {WORKER: (1500,)})
    async with rig.app.run_test(size=SIZE) as pilot:
        rig.beat(4)
        await pilot.pause()
        await select(pilot, rig.app, WORKER)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(rig.app.screen, Dashboard), what="the dashboard")
        assert rig.app.current is not None and rig.app.current.id == WORKER
        assert rig.app.chart.total == 4  # the beats from before it opened
        text = screen_text(rig.app)
        assert "scaled up 2 → 3" in text and "window 1–8" in text
        rig.beat(1)  # live from here on
        await until(pilot, lambda: rig.app.chart.total == 5, what="a live beat")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(rig.app.screen, OverviewScreen), what="overview")
        assert rig.app.overview is not None and rig.app.overview.selected is not None
        assert rig.app.overview.selected.id == WORKER  # the cursor stays where it was
        await pilot.press("escape")  # nothing under the overview: it stays
        await pilot.pause()
        assert isinstance(rig.app.screen, OverviewScreen)


async def test_keys_act_on_the_selected_formation_only(tmp_path: Path) -> None:
    rig = make_fleet_rig(tmp_path)
    async with rig.app.run_test(size=SIZE) as pilot:
        rig.beat(1)
        await pilot.pause()
        # On the overview: p pauses the row under the cursor.
        await select(pilot, rig.app, BLOG)
        await pilot.press("p")
        rig.commands()
        await until(pilot, lambda: row(rig.app, BLOG)[5] == "PAUSED", what="PAUSED in its row")
        assert paused(rig) == {WEB: False, WORKER: False, BLOG: True}
        assert row(rig.app, WEB)[5] == "RUNNING"
        # On a dashboard: + scales that formation, then it holds.
        await select(pilot, rig.app, WORKER)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(rig.app.screen, Dashboard), what="the dashboard")
        await pilot.press("plus")
        rig.commands()
        assert {fid: s.count for fid, s in rig.scalers.items()} == {WEB: 2, WORKER: 3, BLOG: 2}
        await until(pilot, lambda: "manual hold" in screen_text(rig.app), what="the hold")
        await pilot.press("escape")
        await until(pilot, lambda: "HOLD" in row(rig.app, WORKER)[5], what="HOLD in its row")
        assert "HOLD" not in row(rig.app, WEB)[5]


async def test_the_editor_edits_the_selected_formation_and_says_it_is_not_saved(
    tmp_path: Path,
) -> None:
    rig = make_fleet_rig(tmp_path)
    async with rig.app.run_test(size=SIZE, notifications=True) as pilot:
        rig.beat(1)
        await pilot.pause()
        await select(pilot, rig.app, WORKER)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(rig.app.screen, ThresholdsDialog), what="editor")
        dialog = rig.app.screen
        assert isinstance(dialog, ThresholdsDialog)
        assert dialog.field("MAX_DYNOS").value == "8"  # the worker's, not the top level's
        assert "not saved" in screen_text(rig.app)
        dialog.field("MAX_RESPONSE_TIME_IN_MS").value = "1500"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="save")
        rig.commands()
        toasts = [n.message for n in rig.app._notifications]
    assert rig.engine(WORKER).settings.max_response_time_in_ms == 1500
    assert rig.engine(WEB).settings.max_response_time_in_ms == 1000
    assert rig.engine(BLOG).settings.max_response_time_in_ms == 1000
    assert any("not saved" in t for t in toasts), toasts
    assert not (tmp_path / "many.toml").exists()  # nothing written


async def test_shift_p_pauses_every_formation_from_the_overview_and_a_dashboard(
    tmp_path: Path,
) -> None:
    rig = make_fleet_rig(tmp_path)
    async with rig.app.run_test(size=SIZE) as pilot:
        rig.beat(1)
        await pilot.pause()
        assert "Pause all" in screen_text(rig.app)  # in the footer
        await pilot.press("P")
        rig.commands()
        assert all(paused(rig).values())
        await until(pilot, lambda: "3 paused" in screen_text(rig.app), what="the summary")
        assert "Pause all" not in screen_text(rig.app)  # nothing left to pause
        # From a dashboard too, after one formation resumed.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(rig.app.screen, Dashboard), what="the dashboard")
        await pilot.press("p")  # this one resumes
        rig.commands()
        assert paused(rig) == {WEB: False, WORKER: True, BLOG: True}
        await until(pilot, lambda: "Pause all" in screen_text(rig.app), what="P shown again")
        await pilot.press("P")
        rig.commands()
        assert all(paused(rig).values())


async def test_palette_and_help_name_the_keys_of_several_formations(tmp_path: Path) -> None:
    rig = make_fleet_rig(tmp_path)
    async with rig.app.run_test(size=SIZE) as pilot:
        rig.beat(1)
        await pilot.pause()
        titles = {c.title for c in rig.app.get_system_commands(rig.app.screen)}
        keys = {name for _, name, _ in rig.app.key_help()}
    assert {"Pause all formations", "Resume all formations", f"Pause scaling of {WEB}"} <= titles
    assert {"Pause all", "Dashboard", "Pause", "Scale up"} <= keys


async def test_one_formation_opens_on_its_dashboard_without_p_for_all(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    async with rig.app.run_test() as pilot:
        rig.beat(1)
        await pilot.pause()
        assert isinstance(rig.app.screen, Dashboard) and rig.app.overview is None
        await pilot.press("escape")  # no overview to go back to
        await pilot.press("P")  # no "pause all" for a bot of one
        rig.commands()
        await pilot.pause()
        assert isinstance(rig.app.screen, Dashboard)
        assert not rig.engine.paused
        text = screen_text(rig.app)
    assert "Pause all" not in text and "Overview" not in text


async def test_standalone_fleet_beats_on_the_engine_thread(tmp_path: Path) -> None:
    from autoscalebot.config.formations import formations_of
    from autoscalebot.engine.engine import Engine
    from tests.conftest import MemoryScaler, ScriptedProbe
    from tests.tui.tui_rig import FLEET_ENTRIES, make_settings

    settings = make_settings(FORMATIONS=list(FLEET_ENTRIES), HEARTBEAT_INTERVAL_IN_SECONDS=0.02)
    scalers: dict[str, MemoryScaler] = {}

    def factory(fid: str, one: Any, sink: Any) -> Engine:
        probe = ScriptedProbe()
        probe.default = 300.0
        scalers[fid] = MemoryScaler(2)
        return Engine(
            one, sink=sink, probe=probe, scaler=scalers[fid], notifiers=[], notify_async=False
        )

    app = AutoscaleApp(settings, formations=formations_of(settings), formation_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: all(f.total >= 3 for f in app.formations.values()),
            what="beats of every formation",
        )
        assert app.runner is not None and isinstance(app.runner.engine, Fleet)
        await select(pilot, app, WORKER)
        await pilot.press("p")
        await until(pilot, lambda: row(app, WORKER)[5] == "PAUSED", what="the pause")
        engines = {fid: f.engine for fid, f in app.formations.items()}
        assert {fid: e.paused for fid, e in engines.items() if e} == {
            WEB: False,
            WORKER: True,
            BLOG: False,
        }
        await pilot.press("q")
    assert not app.runner.alive  # quitting stopped the fleet


async def test_attached_to_a_bot_of_several_formations(tmp_path: Path) -> None:
    path = tmp_path / "fleet.sock"
    bot = FleetBot(path)
    try:
        app = attached_app(path)
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, OverviewScreen)
            await until(
                pilot,
                lambda: all(f.total >= 3 for f in app.formations.values()),
                what="each formation's beats",
            )
            assert list(app.formations) == ["shop/web", "shop/worker", "blog/web"]
            assert row(app, "shop/worker")[3] == "110 ms"  # its own beats, not another's
            assert row(app, "blog/web")[2] == "2 / 1–7"
            assert "attached to 3 formations" in screen_text(app)

            await select(pilot, app, "shop/worker")
            await pilot.press("p")
            await until(pilot, lambda: bot.engines["shop/worker"].paused, what="the pause")
            await until(pilot, lambda: row(app, "shop/worker")[5] == "PAUSED", what="PAUSED")
            assert not bot.engines["shop/web"].paused and not bot.engines["blog/web"].paused

            await select(pilot, app, "blog/web")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, Dashboard), what="the dashboard")
            await until(pilot, lambda: app.chart.total > 0, what="its beats")
            assert "blog/web" in screen_text(app)
            await pilot.press("plus")
            await until(pilot, lambda: bot.scalers["blog/web"].count == 3, what="the scale")
            assert bot.scalers["shop/web"].count == 2 == bot.scalers["shop/worker"].count

            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ThresholdsDialog), what="editor")
            assert "blog/web: saved nowhere (test)" in screen_text(app)
            dialog = app.screen
            assert isinstance(dialog, ThresholdsDialog)
            assert dialog.field("MAX_DYNOS").value == "7"
            await pilot.press("escape")

            await pilot.press("P")
            await until(
                pilot,
                lambda: all(e.paused for e in bot.engines.values()),
                what="every formation paused",
            )
            await pilot.press("q")
        assert bot.thread.alive  # q left the bot running
    finally:
        bot.close()

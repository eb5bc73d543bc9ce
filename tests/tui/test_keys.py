"""Every key the footer shows, driven through Pilot against a stepped engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscalebot.backends.base import ScalerError
from autoscalebot.engine import events as ev
from autoscalebot.engine.commands import RefreshCount
from autoscalebot.tui.dialogs import HelpDialog, ThresholdsDialog
from tests.tui.tui_rig import SLOW_THEN_FAST, log_texts, make_rig, screen_text, until

pytestmark = pytest.mark.anyio


async def test_p_pauses_and_resumes_and_the_footer_follows(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        rig.beat()
        await until(pilot, lambda: "p Pause" in screen_text(rig.app), what="the footer")

        await pilot.press("p")
        rig.commands()
        await pilot.pause()
        assert rig.engine.paused
        await until(pilot, lambda: "p Resume" in screen_text(rig.app), what="the footer")
        assert "PAUSED" in screen_text(rig.app)
        assert any("operator pause" in line for line in log_texts(rig.app))

        await pilot.press("p")
        rig.commands()
        await pilot.pause()
        assert not rig.engine.paused
        await until(pilot, lambda: "RUNNING" in screen_text(rig.app), what="the status line")


async def test_a_paused_engine_does_not_scale_on_its_own(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        await pilot.press("p")
        rig.beat(8)  # three slow beats among them
        await pilot.pause()
        assert rig.scaler.requests == []
        waits = [line for line in log_texts(rig.app) if "waiting (paused)" in line]
        assert len(waits) == 1, "a gated decision repeats every beat but is logged once"


@pytest.mark.parametrize("key", ["plus", "equals_sign"])
async def test_plus_and_equals_scale_up_by_increment_with_a_hold(tmp_path: Path, key: str) -> None:
    rig = make_rig(tmp_path, [300], dynos=1, INCREMENT=2)
    async with rig.app.run_test() as pilot:
        rig.beat()
        await pilot.press(key)
        rig.commands()
        await pilot.pause()
        assert rig.scaler.requests == [3]
        lines = log_texts(rig.app)
        assert any(line.startswith("scaled up 1 → 3 by operator") for line in lines)
        assert any("automatic scaling holds 120 s" in line for line in lines)
        assert "manual hold 2m 00s" in screen_text(rig.app)


async def test_minus_scales_down(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [300], dynos=3)
    async with rig.app.run_test() as pilot:
        rig.beat()
        await pilot.press("minus")
        rig.commands()
        await pilot.pause()
        assert rig.scaler.requests == [2]
        assert any(line.startswith("scaled down 3 → 2 by operator") for line in log_texts(rig.app))


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"dynos": 4}, "already 4 dynos (at MAX_DYNOS)"),  # MAX_DYNOS is 4
        ({"DRY_RUN": True}, "dry-run: no scaling call is ever made"),
    ],
    ids=["at-a-bound", "dry-run"],
)
async def test_a_refused_force_says_why_in_the_log_and_a_toast(
    tmp_path: Path, setup: dict[str, object], reason: str
) -> None:
    rig = make_rig(tmp_path, [300], **setup)  # type: ignore[arg-type]
    async with rig.app.run_test(notifications=True) as pilot:
        rig.beat()
        await pilot.press("plus")
        rig.commands()
        await pilot.pause()
        assert rig.scaler.requests == []
        assert f"refused force: {reason}" in log_texts(rig.app)
        toasts = list(rig.app._notifications)
        assert [(t.title, t.severity) for t in toasts] == [("Refused: force", "warning")]


async def test_plus_scales_by_hand_while_paused_and_the_pause_stays(tmp_path: Path) -> None:
    # Pause, then drive by hand: the pause stops automatic scaling only.
    rig = make_rig(tmp_path, [300], dynos=1)
    async with rig.app.run_test(notifications=True) as pilot:
        rig.beat()
        await pilot.press("p")
        rig.commands()
        await pilot.pause()
        await pilot.press("plus")
        rig.commands()
        await pilot.pause()
        assert rig.scaler.requests == [2]
        assert rig.engine.paused
        lines = log_texts(rig.app)
        assert any(line.startswith("scaled up 1 → 2 by operator") for line in lines)
        assert any("automatic scaling stays paused" in line for line in lines)
        assert not [t for t in rig.app._notifications if t.title == "Refused: force"]


async def test_e_opens_the_editor_and_escape_closes_it(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(rig.app.screen, ThresholdsDialog)
        await pilot.press("p")  # typed into the form, not a pause
        rig.commands()
        assert not rig.engine.paused
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(rig.app.screen, ThresholdsDialog)
        assert not rig.config_path.exists()


async def test_question_mark_shows_help_with_every_key(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(rig.app.screen, HelpDialog)
        text = screen_text(rig.app)
        for words in ("Pause", "Scale up", "Scale down", "Thresholds", "Help", "Quit"):
            assert words in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(rig.app.screen, HelpDialog)


async def test_q_quits(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert rig.app.return_code == 0


async def test_every_binding_has_an_id_and_a_tooltip_and_is_in_the_palette(tmp_path: Path) -> None:
    from textual.binding import Binding

    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    bindings = [b for b in rig.app.BINDINGS if isinstance(b, Binding)]
    assert all(b.id and b.tooltip and b.description for b in bindings)
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test():
        titles = {c.title for c in rig.app.get_system_commands(rig.app.screen)}
    assert {"Pause scaling", "Scale up", "Scale down", "Edit thresholds", "Help", "Quit"} <= titles


async def test_a_keymap_moves_a_key_by_its_id(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        rig.app.set_keymap({"pause": "ctrl+x"})
        await pilot.press("p")
        rig.commands()
        assert not rig.engine.paused
        await pilot.press("ctrl+x")
        rig.commands()
        assert rig.engine.paused


async def test_the_log_shows_drift_trouble_and_episodes(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [1500], dynos=4)  # slow at MAX_DYNOS: needs above max
    async with rig.app.run_test() as pilot:
        rig.beat(3)
        rig.scaler.count = 2  # someone scaled by hand
        rig.engine.submit(RefreshCount())
        rig.commands()
        rig.scaler.fail_reads = [ScalerError("Heroku answered 503", kind="server")] * 9
        rig.beat(3)
        await pilot.pause()
        lines = log_texts(rig.app)
        assert any(line.startswith("At MAX_DYNOS (4) and still too slow") for line in lines)
        assert any(
            line.startswith("drift: recorded 4 dynos, the platform runs 2") for line in lines
        )
        assert any(line.startswith("platform failing: Heroku answered 503") for line in lines)
        assert "API TROUBLE" in screen_text(rig.app)


async def test_an_engine_that_stops_shows_stopped(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        rig.app.sink(ev.Stopped(rig.clock.now(), "error: RuntimeError: boom"))
        await pilot.pause()
        assert "STOPPED" in screen_text(rig.app)
        assert "engine stopped: error: RuntimeError: boom" in log_texts(rig.app)


async def test_countdowns_drop_once_past_without_waiting_for_a_beat(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [300], dynos=1)
    async with rig.app.run_test() as pilot:
        rig.beat()
        await pilot.press("plus")
        rig.commands()
        await pilot.pause()
        assert "manual hold 2m 00s" in screen_text(rig.app)
        rig.clock.advance(60)
        rig.app._refresh_countdowns()  # the app's 1 s timer, between beats
        await pilot.pause()
        assert "manual hold 1m 00s" in screen_text(rig.app)
        rig.clock.advance(61)  # the hold has ended; no beat has said so yet
        rig.app._refresh_countdowns()
        await pilot.pause()
        text = screen_text(rig.app)
        assert "manual hold" not in text, text


async def test_the_window_moves_on_when_the_schedule_changes_between_beats(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, [300], dynos=1)  # MIN_DYNOS 1, from 18:00 2; it is 12:00
    async with rig.app.run_test() as pilot:
        rig.beat()
        await pilot.pause()
        text = screen_text(rig.app)
        assert "now  1–4 dynos" in text and "next 2–4 at 18:00" in text and "in 5h 59m" in text
        rig.clock.advance(6 * 3600)  # 18:00:30, and no beat since
        rig.app._refresh_countdowns()
        await pilot.pause()
        text = screen_text(rig.app)
        assert "now  2–4 dynos" in text and "next changing…" in text, text
        assert "in now" not in text

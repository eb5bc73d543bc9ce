"""The console attached to a running bot: its keys drive that bot, and it
survives the bot going away and coming back."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscalebot.tui.dialogs import ThresholdsDialog
from tests.control.bot_rig import Bot
from tests.tui.tui_rig import attached_app, screen_text, until

pytestmark = pytest.mark.anyio


async def test_keys_drive_the_attached_bot_and_the_console_outlives_it(tmp_path: Path) -> None:
    path = tmp_path / "bot.sock"
    bot = Bot(path)
    app = attached_app(path)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.chart.total > 0, what="beats")
            assert "attached to shop/web" in screen_text(app)
            assert app.engine is None  # no engine of its own: never a second bot
            await pilot.press("p")
            await until(pilot, lambda: bot.engine.paused, what="the bot to pause")
            await until(pilot, lambda: "PAUSED" in screen_text(app), what="PAUSED shown")
            await pilot.press("plus")
            await until(pilot, lambda: bot.scaler.count == 3, what="the bot to scale")

            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ThresholdsDialog), what="editor")
            assert "saved nowhere (test)" in screen_text(app)  # where the bot saves, said
            field = app.screen.field("MAX_RESPONSE_TIME_IN_MS")
            field.value = "800"
            await pilot.press("ctrl+s")
            await until(
                pilot,
                lambda: bot.engine.settings.max_response_time_in_ms == 800,
                what="the bot to take the edit",
            )

            before = app.chart.total
            bot.close()
            await until(pilot, lambda: "DISCONNECTED" in screen_text(app), what="disconnected")
            seen = app.chart.total  # beats already on their way when it closed count too
            assert seen >= before  # the history stays on screen

            again = Bot(path)
            try:
                await until(
                    pilot, lambda: "DISCONNECTED" not in screen_text(app), what="re-attached"
                )
                await until(pilot, lambda: app.chart.total > seen, what="new beats")
                await pilot.press("q")
            finally:
                running = again.thread.alive
                again.close()
            assert running  # q left the bot running
    finally:
        bot.close()

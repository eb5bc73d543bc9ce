"""The standalone console starts with the bot's recorded history on screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoscalebot.engine import events as ev
from autoscalebot.history import History, default_path
from tests.tui.tui_rig import make_rig, until

pytestmark = pytest.mark.anyio


def record(formation: str, n: int) -> None:
    history = History.open()
    start = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    for i in range(n):
        beat = ev.Beat(start + timedelta(seconds=30 * i), 250.0 + i, 200, None, "ok", {}, 2)
        history.record(beat, formation)
    history.record(ev.Beat(start, 9999.0, 200, None, "ok", {}, 9), "someone-else/web")
    history.close()


async def test_the_recorded_beats_are_on_screen_before_the_first_live_one(tmp_path: Path) -> None:
    record("shop-web/web", 40)
    rig = make_rig(tmp_path, [])
    assert rig.app.preload_history() == 40
    async with rig.app.run_test() as pilot:
        await until(pilot, lambda: rig.app.chart.total >= 40, what="the history on the chart")
        assert rig.app.chart.total == 40  # another formation's beats stay out


async def test_no_history_file_is_no_history_and_none_is_made(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, [])
    assert rig.app.preload_history() == 0
    assert not default_path().exists()

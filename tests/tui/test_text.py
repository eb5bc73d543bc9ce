"""The console never dies of text, and reads at any size.

Text from outside (a server's error, a command's output, a backend's name)
is shown literally everywhere: ``[/api/v3]`` and ``[bold]`` are words, not
markup, and control characters and Unicode line separators are escapes.
A resize lays the log out again with its newest lines in view; at 80x24 long
lines end in an ellipsis, toasts leave the newest log line alone, and the
editor shows a schedule in full.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input
from textual.widgets._toast import Toast

from autoscalebot.backends.base import Notification
from autoscalebot.engine import events as ev
from autoscalebot.tui.describe import describe
from tests.conftest import make_status
from tests.tui.tui_rig import SLOW_THEN_FAST, log_texts, make_rig, screen_text, until

pytestmark = pytest.mark.anyio

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOSTILE = "Heroku said [/api/v3] [bold]no[/bold] \x1b[31mred\x07 one\u2028two\x85three\x9bfour"
SHOWN = "Heroku said [/api/v3] [bold]no[/bold] \\x1b[31mred\\x07 one\\u2028two\\x85three\\x9bfour"
# What must never reach the screen raw: controls and line separators.
RAW = set("\x1b\x07\u2028\u2029\x85\x9b")


def status(**changes: Any) -> ev.Status:
    fields: dict[str, Any] = dict(target=3, streaks={"fails": (1, 3), "passes": (0, 5)})
    return make_status(**(fields | changes))


def toasts(app: Any) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def test_the_log_line_of_outside_text_is_one_escaped_entry() -> None:
    line = describe(ev.Trouble(at=AT, source="probe", reason="a\nb\u2028c [bold]"))
    assert line is not None
    assert line.text == "probe failing: a\\nb\\u2028c [bold]"


async def test_hostile_text_through_every_widget_and_toast(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, (300,))
    app = rig.app
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        rig.beat(1)
        app.status_line.app_name = "[bold]shop[/]"
        sink = app.sink
        sink(ev.Trouble(at=AT, source="platform", reason=HOSTILE))  # log + toast
        sink(ev.OperatorAction(at=AT, action="force", detail=HOSTILE, accepted=False))  # + toast
        sink(ev.ScaleFailed(at=AT, current=2, target=3, reason=HOSTILE))
        note = Notification(kind="needs_above_max", message=HOSTILE, reason=HOSTILE, at=AT)
        sink(ev.Notified(at=AT, notification=note))
        sink(
            ev.Beat(
                at=AT,
                latency_ms=None,
                status=None,
                error=HOSTILE,
                outcome="fail",
                streaks={"fails": (1, 3), "passes": (0, 5)},
                current=2,
            )
        )
        sink(
            ev.StatusChanged(
                at=AT, status=status(last_reason=HOSTILE, problems=(f"notify:{HOSTILE}",))
            )
        )
        sink(ev.Stopped(at=AT, reason=HOSTILE))
        await until(pilot, lambda: len(toasts(app)) >= 2, what="the toasts")
        await pilot.pause()
        screen = screen_text(app)
        shown_toasts = toasts(app)
        dynos = app.dynos.render().plain
        legend = app.chart.render().plain
        status_line = screen.splitlines()[0]

    assert not RAW & set(screen), "a control character reached the screen"
    assert any(SHOWN in toast for toast in shown_toasts), shown_toasts
    assert any("Scaling API trouble" in toast for toast in shown_toasts)
    logged = log_texts(app)
    for words in ("platform failing: ", "refused force: ", "scaling to 3 failed: "):
        assert words + SHOWN in logged, logged
    assert any(SHOWN in text for text in logged if text.startswith("engine stopped"))
    assert "[/api/v3]" in dynos and "\\x1b[31mred" in dynos
    assert "[/api/v3]" in legend and "\\u2028" in legend
    assert "[bold]shop[/]" in status_line
    assert "NOTIFY HEROKU SAID [/API/V3]" in status_line


async def test_textual_own_hints_keep_their_markup(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    async with rig.app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("ctrl+c")  # Textual: "Press [b]q[/b] to quit the app"
        await until(pilot, lambda: toasts(rig.app), what="the hint")
        hint = toasts(rig.app)[0]
    assert "to quit the app" in hint and "[b]" not in hint


def _operator_lines(app: Any, n: int) -> None:
    for i in range(n):
        app.sink(
            ev.OperatorAction(
                at=AT,
                action="force",
                detail=f"line {i:02d}: "
                + "a long reason that needs more room " * 3
                + f"end {i:02d}",
            )
        )


async def test_a_resize_lays_the_log_out_again_with_the_newest_lines_in_view(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path)
    app = rig.app
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await pilot.pause()
        _operator_lines(app, 30)
        await until(pilot, lambda: app.event_log.written >= 30, what="the log")
        await pilot.pause()
        assert "end 29" in screen_text(app)  # wide and tall: wrapped in full
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        small = screen_text(app)
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        large = screen_text(app)
    newest = [row for row in small.splitlines() if "line 29:" in row]
    assert newest, small  # the newest line is in view right after the resize
    assert newest[0].rstrip(" │").endswith("…")  # one row, ending in an ellipsis
    assert "line 28:" in small
    assert "end 29" in large and "line 29:" in large  # wrapped again, in full


async def test_toasts_leave_the_newest_log_line_and_the_dyno_count_alone(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    app = rig.app
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        rig.beat(len(SLOW_THEN_FAST))
        app.sink(ev.Trouble(at=AT, source="platform", reason="Heroku answered 503 " * 4))
        await until(pilot, lambda: toasts(app), what="the toast")
        await pilot.pause()
        regions = [toast.region for toast in app.screen.query(Toast)]
        log, dynos = app.event_log.region, app.dynos.region
    assert regions
    for region in regions:
        assert not region.overlaps(log), (region, log)
        assert not region.overlaps(dynos), (region, dynos)


async def test_a_long_reason_in_the_dynos_panel_ends_in_an_ellipsis(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    app = rig.app
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        reason = "5 beats under 200 ms: " + ", ".join(str(n) for n in range(100, 160))
        app.sink(ev.StatusChanged(at=AT, status=status(last_reason=reason)))
        await until(pilot, lambda: app.dynos.status is not None, what="the status")
        await pilot.pause()
        panel = app.dynos.render().plain.splitlines()
        height = app.dynos.content_size.height
    assert len(panel) <= height
    assert panel[-1].endswith("…")


async def test_the_editor_shows_a_long_schedule_in_full(tmp_path: Path) -> None:
    schedule = {"0:00": 1, "7:30": 2, "9:00": 3, "12:00": 4, "18:00": 2, "22:00": 1}
    rig = make_rig(tmp_path, MIN_DYNOS=schedule)
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        field = rig.app.screen.query_one("#field-MIN_DYNOS", Input)
        text = screen_text(rig.app)
    full = "0:00=1, 7:30=2, 9:00=3, 12:00=4, 18:00=2, 22:00=1"
    assert field.disabled and field.value == full
    assert full in text


async def test_a_queue_beat_says_the_oldest_jobs_wait_and_how_many_wait() -> None:
    from datetime import UTC, datetime

    from autoscalebot.tui.widgets import LatencyChart

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield LatencyChart(id="latency")

    app = One()
    async with app.run_test(size=(100, 10)) as pilot:
        chart = app.query_one(LatencyChart)
        at = datetime(2026, 1, 5, tzinfo=UTC)
        chart.add_beats([ev.Beat(at, 4200.0, None, None, "fail", {}, 2, queue_depth=14)], 1)
        await pilot.pause()
        assert "oldest job waited 4200 ms, 14 jobs waiting" in str(chart.render())
        chart.add_beats([ev.Beat(at, 90.0, 200, None, "ok", {}, 2, request_queue_ms=35.0)], 1)
        await pilot.pause()
        assert "last 90 ms, request queue p95 35 ms" in str(chart.render())

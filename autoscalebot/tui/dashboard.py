"""One formation's dashboard: live latency, streaks, dynos, the bounds window and a log.

The console's only screen for a bot of one formation; over the overview for a
bot of many (Escape goes back). It starts from what the console kept of its
formation (:class:`~autoscalebot.tui.formation.Formation`) and then takes
that formation's events live.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from autoscalebot.engine import events as ev
from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.formation import Formation
from autoscalebot.tui.widgets import (
    BoundsPanel,
    DynosPanel,
    EventLog,
    LatencyChart,
    StatusLine,
    StreakPanel,
)


class Dashboard(Screen[None]):
    """The panels of one formation. ``back``: Escape returns to the overview."""

    BINDINGS = [
        Binding(
            "escape",
            "back",
            "Overview",
            id="overview",
            tooltip="Back to the overview of every formation",
        ),
    ]

    def __init__(
        self,
        formation: Formation,
        clockface: ClockFace,
        *,
        title: str,
        back: bool = False,
        disconnected: str | None = None,
    ) -> None:
        super().__init__()
        self.formation = formation
        """The formation shown."""
        self.back = back
        """Escape goes back to the overview (a bot of many formations)."""
        # The panels exist from the start, kept by reference: events keep
        # arriving while a dialog is the active screen, and a query would
        # look in the dialog.
        self.status_line = StatusLine(clockface, title, id="status")
        self.chart = LatencyChart(id="latency")
        self.dynos = DynosPanel(id="dynos")
        self.streak = StreakPanel(id="streak")
        self.bounds = BoundsPanel(clockface, id="bounds")
        self.event_log = EventLog(clockface, id="log")
        # What the console kept of this formation, before the screen opened.
        self.add_beats(formation.beats, formation.total)
        for event in formation.events:
            self.add_event(event)
        if formation.status is not None:
            self.show_status(formation.status)
        if disconnected is not None:
            self.status_line.set_disconnected(disconnected)

    def compose(self) -> ComposeResult:
        yield self.status_line
        yield Horizontal(_panel("Latency", self.chart), _panel("Dynos", self.dynos), id="top")
        yield Horizontal(_panel("Streak", self.streak), _panel("Window", self.bounds), id="middle")
        yield _panel("Log", self.event_log)
        yield Footer()

    # ---- what the formation's engine reports ----

    def add_beats(self, beats: Iterable[ev.Beat], count: int) -> None:
        beats = tuple(beats)
        if beats or count:
            self.chart.add_beats(beats, count)
            self.streak.add_beats(beats)

    def show_status(self, status: ev.Status) -> None:
        for view in (self.status_line, self.dynos, self.bounds):
            view.set_status(status)
        self.streak.set_streaks(status.streaks)
        self.chart.set_thresholds(status.thresholds_ms)

    def add_event(self, event: ev.Event) -> None:
        self.event_log.add(event)
        if isinstance(event, ev.Stopped):
            self.status_line.set_stopped(event.reason)

    def refresh_countdowns(self) -> None:
        self.status_line.refresh()
        self.bounds.refresh()

    # ---- keys ----

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.back
        return True

    def action_back(self) -> None:
        """Back to the overview."""
        if self.back:
            self.dismiss(None)


def _panel(title: str, content: Widget) -> Vertical:
    """A bordered, titled box around one widget (``#<id>-box`` in the CSS)."""
    box = Vertical(content, id=f"{content.id}-box", classes="panel")
    box.border_title = title
    return box

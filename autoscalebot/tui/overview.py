"""The overview: every formation of the bot, one row each, live.

Each row says the formation, its platform, the dynos now and the window, the
last beat (latency, or a job queue's wait), the streak that runs, whether it
is paused or holding, and what fails. Enter opens that formation's dashboard;
the console's keys act on the selected row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.formation import Formation
from autoscalebot.tui.widgets.literal import literal_text

COLUMNS = (
    ("formation", "Formation"),
    ("platform", "Platform"),
    ("dynos", "Dynos / window"),
    ("last", "Last beat"),
    ("streak", "Streak"),
    ("state", "State"),
    ("trouble", "Trouble"),
)

TROUBLE_CELLS = 48
"""A trouble cell's width at most (the dashboard's log has the whole reason)."""

_STATE_STYLES = {
    "RUNNING": "green",
    "PAUSED": "bold yellow",
    "STOPPED": "bold red",
    "STARTING": "dim",
}


class FormationTable(DataTable[Text]):
    """The table of formations; Enter opens the selected one's dashboard."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Dashboard",
            id="open",
            tooltip="Open the dashboard of the selected formation",
        ),
    ]


class OverviewScreen(Screen[None]):
    """Every formation, one row each; ``open(formation id)`` opens a dashboard."""

    def __init__(
        self,
        formations: Mapping[str, Formation],
        clockface: ClockFace,
        *,
        open: Callable[[str], None],
        title: str,
    ) -> None:
        super().__init__()
        self.formations = formations
        """The console's formations, by id (the app adds to it; :meth:`update` shows them)."""
        self.clockface = clockface
        self.open = open
        self.title_text = title
        """The bot, in words (``attached to 3 formations (pid 123)``)."""
        self.disconnected: str | None = None
        """Why the attached bot is not answering, while it is not."""
        self.table: FormationTable = FormationTable(
            id="formations", cursor_type="row", zebra_stripes=True
        )
        self.summary = Static("", id="overview-status", markup=False)
        self._shown: dict[str, tuple[str, ...]] = {}
        self._ready = False  # the table has its columns

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.table
        yield Footer()

    def on_mount(self) -> None:
        self._ready = True
        for key, label in COLUMNS:
            self.table.add_column(label, key=key)
        for formation in self.formations.values():
            self.update(formation)
        self.show_summary()

    @property
    def selected(self) -> Formation | None:
        """The formation under the cursor."""
        table = self.table
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self.formations.get(str(row_key.value))

    def select(self, fid: str) -> None:
        """Move the cursor to formation ``fid``'s row."""
        self.table.move_cursor(row=self.table.get_row_index(fid))

    # ---- rows ----

    def cells(self, formation: Formation) -> tuple[str, ...]:
        trouble = formation.trouble_text()
        if len(trouble) > TROUBLE_CELLS:
            trouble = trouble[: TROUBLE_CELLS - 1] + "…"
        return (
            formation.id,
            formation.platform,
            formation.dynos_text(),
            formation.latency_text(),
            formation.streak_text(),
            formation.state_text(self.clockface),
            trouble,
        )

    def update(self, formation: Formation) -> None:
        """Show ``formation``'s row as it is now (added if new)."""
        if not self._ready:
            return  # on_mount shows every row
        cells = self.cells(formation)
        before = self._shown.get(formation.id)
        if before == cells:
            return
        self._shown[formation.id] = cells
        styled = [self._styled(key, text) for (key, _), text in zip(COLUMNS, cells, strict=True)]
        if before is None:
            self.table.add_row(*styled, key=formation.id)
            return
        for (key, _), text, old, cell in zip(COLUMNS, cells, before, styled, strict=True):
            if text != old:
                self.table.update_cell(formation.id, key, cell, update_width=True)
        if cells[5:] != before[5:]:  # paused, or in trouble, or out of it
            self.show_summary()

    def refresh_rows(self) -> None:
        """Every row again (a hold's end is a matter of time, not of an event)."""
        for formation in self.formations.values():
            self.update(formation)
        self.show_summary()

    def _styled(self, column: str, text: str) -> Text:
        if column == "state":
            first = text.split(" ", 1)[0]
            return Text(text, style=_STATE_STYLES.get(first, ""))
        if column == "trouble":
            return literal_text(text, "red")
        if column == "formation":
            return literal_text(text, "bold")
        return literal_text(text)

    def show_summary(self) -> None:
        """``3 formations: 1 paused, 1 in trouble`` and the bot, or why it is not answering."""
        if not self._ready:
            return
        listed = list(self.formations.values())
        paused = sum(f.paused for f in listed)
        trouble = sum(bool(f.trouble_text()) for f in listed)
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.disconnected is not None:
            text.append(" DISCONNECTED ", "bold reverse red")
            text.append(" ")
            text.append_text(literal_text(self.disconnected))
        else:
            text.append(f" {len(listed)} formations", "bold")
            if paused:
                text.append(f"  {paused} paused", "bold yellow")
            if trouble:
                text.append(f"  {trouble} in trouble", "bold red")
            if not paused and not trouble:
                text.append("  all running", "green")
        text.append("  ")
        text.append_text(literal_text(self.title_text, "dim"))
        self.summary.update(text)

    def set_disconnected(self, why: str | None) -> None:
        self.disconnected = why
        self.show_summary()

    # ---- keys ----

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.open(str(message.row_key.value))

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        message.stop()
        self.app.refresh_bindings()  # p reads Pause or Resume for the selected row

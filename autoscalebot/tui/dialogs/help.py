"""The help dialog: the keys, and what each panel shows."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

PANELS = (
    (
        "Latency",
        "a bar per beat, newest right; ╌ lines are the pass (MIN) and fail (MAX) "
        "thresholds; ░ = no answer",
    ),
    (
        "Streak",
        "consecutive fails and passes against the counts that scale up or down; "
        "✗ fail, • ok, ✓ pass",
    ),
    ("Dynos", "the count now, the target, and the evidence for the last decision"),
    ("Window", "MIN_DYNOS–MAX_DYNOS now, and when the schedule changes it next"),
    ("Log", "scales, failed calls, episodes (needs above max…), drift, operator actions"),
)


class HelpDialog(ModalScreen[None]):
    """Keys (as bound now, after any keymap) and a legend for the panels."""

    BINDINGS = [
        Binding(
            "escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close the help"
        ),
    ]

    def __init__(self, keys: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.keys = tuple(keys)
        """(key, name, what it does) for each of the console's keys."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            keys = Table.grid(padding=(0, 2))
            keys.add_column(style="bold", no_wrap=True)
            keys.add_column(no_wrap=True)
            keys.add_column(ratio=1)
            for key, name, what in self.keys:
                keys.add_row(key, name, Text(what, style="dim"))
            yield Static(keys, id="help-keys")
            panels = Table.grid(padding=(0, 2))
            panels.add_column(style="bold", no_wrap=True)
            panels.add_column(ratio=1)
            for name, what in PANELS:
                panels.add_row(name, what)
            yield Static(panels, id="help-panels")
        yield Footer()

    def action_close(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)

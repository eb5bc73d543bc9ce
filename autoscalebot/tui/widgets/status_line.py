"""The status line: what the bot is doing right now, in words and chips."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.widgets.literal import literal, literal_text
from autoscalebot.tui.widgets.status_view import StatusView

# Status.problems names the failing part; the operator wants to know what it means.
_PROBLEMS = {
    "platform": "API TROUBLE",
    "probe": "HEARTBEAT FAILING",
    "policy": "POLICY ERROR",
}


def problem_word(problem: str) -> str:
    """``API TROUBLE`` for ``platform``, ``NOTIFY SLACK FAILING`` for ``notify:slack``."""
    return _PROBLEMS.get(problem) or literal(
        f"{problem.replace('notify:', 'NOTIFY ').upper()} FAILING"
    )


class StatusLine(StatusView):
    """``RUNNING`` / ``PAUSED`` / ``STOPPED``, then ``DRY-RUN``, ``COOLING OFF``,
    ``HOLD`` and ``API TROUBLE`` when they apply; the app's name on the right.

    Each state is a word, not only a colour, so it reads under NO_COLOR.
    """

    COMPONENT_CLASSES = {
        "status--running",
        "status--paused",
        "status--stopped",
        "status--dry-run",
        "status--waiting",
        "status--trouble",
        "status--app",
    }
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    StatusLine > .status--running { background: $success; color: $text; text-style: bold; }
    StatusLine > .status--paused { background: $warning; color: $text; text-style: bold; }
    StatusLine > .status--stopped { background: $error; color: $text; text-style: bold; }
    StatusLine > .status--dry-run { background: $primary; color: $text; text-style: bold; }
    StatusLine > .status--waiting { color: $warning; text-style: bold; }
    StatusLine > .status--trouble { background: $error; color: $text; text-style: bold; }
    StatusLine > .status--app { color: $text-muted; }
    """

    def __init__(
        self,
        clock: ClockFace,
        app_name: str,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        """Formats the time left in a cool-off or hold."""
        self.app_name = app_name
        """Shown on the right."""
        self.stopped: str | None = None
        """Why the engine stopped, once it has."""
        self.disconnected: str | None = None
        """Why the attached bot is not answering, while it is not."""

    def set_disconnected(self, reason: str | None) -> None:
        """The attached bot stopped answering (``reason``), or answers again (None)."""
        self.disconnected = reason
        if reason is None:
            self.stopped = None  # a bot that is back runs again
        self.refresh()

    def set_stopped(self, reason: str) -> None:
        """The engine loop ended."""
        self.stopped = reason
        self.refresh()

    def states(self) -> list[tuple[str, str]]:
        """(word, component class) for each state that applies, most important first."""
        status = self.status
        out: list[tuple[str, str]] = []
        if self.disconnected is not None:
            out.append(("DISCONNECTED", "status--stopped"))
        elif self.stopped is not None:
            out.append(("STOPPED", "status--stopped"))
        elif status is None:
            out.append(("STARTING", "status--waiting"))
        elif status.paused:
            out.append(("PAUSED", "status--paused"))
        else:
            out.append(("RUNNING", "status--running"))
        if status is None:
            return out
        if status.dry_run:
            out.append(("DRY-RUN", "status--dry-run"))
        for problem in status.problems:
            out.append((problem_word(problem), "status--trouble"))
        # Timed against now at each repaint: one that ran out since the last
        # snapshot is gone, not shown until the next beat.
        clock = self.clock
        if status.hold_until is not None and not clock.passed(status.hold_until):
            out.append((f"manual hold {clock.left(status.hold_until)}", "status--waiting"))
        if status.cooling_until is not None and not clock.passed(status.cooling_until):
            out.append((f"cooling off {clock.left(status.cooling_until)}", "status--waiting"))
        return out

    def render(self) -> Table:
        style = self.get_component_rich_style
        left = Text(no_wrap=True, overflow="ellipsis")
        for word, component in self.states():
            left.append(f" {word} ", style(component))
            left.append(" ")
        right = literal_text(self.app_name + " ", style("status--app"))
        right.no_wrap, right.overflow = True, "ellipsis"
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(
            justify="right", no_wrap=True, max_width=max(8, self.content_size.width // 3)
        )
        grid.add_row(left, right)
        return grid

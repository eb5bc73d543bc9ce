"""The log: scales, failures, episodes, drift and operator actions, newest last."""

from __future__ import annotations

from collections import deque

from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from autoscalebot.engine import events as ev
from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.describe import LogLine, describe
from autoscalebot.tui.widgets.literal import fit

MAX_LINES = 500
"""Lines kept; older ones scroll away for good (the memory stays flat)."""

WRAP_FROM_ROWS = 10
"""A log this tall or taller wraps long lines; a shorter one ends them in "…"."""


class EventLog(RichLog):
    """A bounded log of engine events, newest last: long lines wrap with a
    hanging indent, or end in an ellipsis when the log is only a few rows tall;
    a resize lays every kept line out again."""

    COMPONENT_CLASSES = {
        "log--up",
        "log--down",
        "log--good",
        "log--bad",
        "log--warn",
        "log--info",
        "log--time",
    }
    DEFAULT_CSS = """
    EventLog > .log--up { color: $warning; }
    EventLog > .log--down { color: $success; }
    EventLog > .log--good { color: $success; }
    EventLog > .log--bad { color: $error; }
    EventLog > .log--warn { color: $warning; }
    EventLog > .log--info { color: $accent; }
    EventLog > .log--time { color: $text-muted; }
    """

    def __init__(
        self,
        clock: ClockFace,
        *,
        max_lines: int = MAX_LINES,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            max_lines=max_lines, min_width=20, wrap=True, name=name, id=id, classes=classes
        )
        self.clock = clock
        """Formats each line's time."""
        self._last_key: tuple[object, ...] | None = None
        self.written = 0
        """Lines written since start (the log keeps only ``max_lines``)."""
        self.recent: deque[LogLine] = deque(maxlen=max_lines)
        """The lines shown, as words (for tests and scripts that wait on the log)."""
        self._styles: dict[str, Style] = {}
        self._waiting: list[ev.Event] = []
        self._entries: deque[tuple[str, LogLine]] = deque(maxlen=max_lines)
        self._layout: tuple[int, bool] | None = None  # (width, compact) lines were laid out for

    def _style(self, component: str) -> Style:
        # Looked up once per theme: a lookup costs more than writing the line.
        if component not in self._styles:
            self._styles[component] = self.get_component_rich_style(component)
        return self._styles[component]

    def _styled(self) -> bool:
        try:
            self._style("log--time")
        except KeyError:
            return False
        return True

    def _catch_up(self) -> None:
        if not self._styled():
            self.call_after_refresh(self._catch_up)
            return
        waiting, self._waiting = self._waiting, []
        for event in waiting:
            self.add(event)

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def add(self, event: ev.Event) -> LogLine | None:
        """Log ``event`` if it is worth a line; return the line written."""
        if self._waiting or not self._styled():
            # Events can arrive before this widget's styles exist (the engine
            # starts as the app mounts): keep their order, write them soon.
            self._waiting.append(event)
            if len(self._waiting) == 1:
                self.call_after_refresh(self._catch_up)
            return None
        line = describe(event)
        if line is None:
            return None
        if line.repeat_key is not None and line.repeat_key == self._last_key:
            return None
        self._last_key = line.repeat_key
        self._entries.append((self.clock.time(event.at), line))
        self._write(self._entries[-1])
        self.written += 1
        self.recent.append(line)
        return line

    def _write(self, entry: tuple[str, LogLine]) -> None:
        stamp, line = entry
        style = self._style
        tone = style(f"log--{line.tone}")
        head = Text.assemble((stamp, style("log--time")), " ", (line.glyph, tone), " ")
        body = Text(line.text, tone if line.tone in ("bad", "up", "down") else "")
        room = max(10, self._width() - head.cell_len)
        if body.cell_len > room:
            if self.compact:
                # Few rows: one event per row, so the newest stay in view.
                body = fit(body, room, 1, self.app.console)
            else:
                # Wrapped here, with a hanging indent, so a long reason lines
                # up under the words rather than under the time.
                body = Text("\n" + " " * head.cell_len).join(body.wrap(self.app.console, room))
        self.write(head + body)

    def _width(self) -> int:
        return self.scrollable_content_region.width or self.app.size.width

    @property
    def compact(self) -> bool:
        """One row per event (ending in an ellipsis) while the log shows
        fewer than :data:`WRAP_FROM_ROWS` rows (an 80x24 terminal)."""
        return 0 < self.size.height < WRAP_FROM_ROWS

    def on_resize(self, event: Resize) -> None:
        super().on_resize(event)
        # Lines are laid out when written: a new width (or a change between
        # wrapped and one-row lines) lays them all out again, newest in view.
        layout = (self._width(), self.compact)
        if self._layout is not None and layout != self._layout and self._entries:
            self.clear()
            for entry in self._entries:
                self._write(entry)
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self._layout = layout

"""The latency chart: recent beats as bars, the MIN/MAX thresholds as lines."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from autoscalebot.engine import events as ev
from autoscalebot.tui.widgets.literal import literal

_EIGHTHS = " ▁▂▃▄▅▆▇█"
_NO_ANSWER = "░"  # a beat that never answered fills its column in a light shade
HISTORY = 600
"""Beats kept for the chart (wider than any terminal)."""


class LatencyChart(Widget):
    """A bar per beat, newest on the right, coloured by its outcome.

    The fail threshold (MAX_RESPONSE_TIME_IN_MS) and the pass threshold
    (MIN_RESPONSE_TIME_IN_MS) are drawn as dashed lines across the empty
    cells, so each bar reads against what it is judged by, with or without
    colour. The bottom line says the last latency and the thresholds.
    """

    COMPONENT_CLASSES = {
        "latency--pass",
        "latency--ok",
        "latency--fail",
        "latency--max-line",
        "latency--min-line",
        "latency--dim",
    }
    DEFAULT_CSS = """
    LatencyChart { height: 1fr; min-height: 2; }
    LatencyChart > .latency--pass { color: $success; }
    LatencyChart > .latency--ok { color: $warning; }
    LatencyChart > .latency--fail { color: $error; }
    LatencyChart > .latency--max-line { color: $error 60%; }
    LatencyChart > .latency--min-line { color: $success 60%; }
    LatencyChart > .latency--dim { color: $text-muted; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.beats: deque[ev.Beat] = deque(maxlen=HISTORY)
        """Recent beats, oldest first."""
        self.thresholds_ms: tuple[float, float] = (200.0, 1000.0)
        """(MIN_RESPONSE_TIME_IN_MS, MAX_RESPONSE_TIME_IN_MS) as last reported."""
        self.total = 0
        """Every beat seen since start (the chart keeps only the newest)."""

    def add_beats(self, beats: Iterable[ev.Beat], count: int | None = None) -> None:
        """Append beats (oldest first); ``count`` is how many they stand for."""
        beats = tuple(beats)
        self.beats.extend(beats)
        self.total += len(beats) if count is None else count
        self.refresh()

    def set_thresholds(self, thresholds_ms: tuple[float, float]) -> None:
        """Take the thresholds from a status snapshot."""
        if thresholds_ms != self.thresholds_ms:
            self.thresholds_ms = thresholds_ms
            self.refresh()

    def render(self) -> Text:
        width, height = self.content_size
        if width <= 0 or height <= 0:
            return Text()
        rows = self._chart(width, max(1, height - 1)) if height > 1 else []
        lines = [*rows, self._legend(width)]
        return Text("\n").join(lines)

    def _chart(self, width: int, height: int) -> list[Text]:
        low, high = self.thresholds_ms
        shown = list(self.beats)[-width:]
        peak = max((b.latency_ms for b in shown if b.latency_ms is not None), default=0.0)
        top = max(high * 1.25, peak, 1.0)
        style = self.get_component_rich_style
        outcome_style = {o: style(f"latency--{o}") for o in ("pass", "ok", "fail")}
        max_style, min_style = style("latency--max-line"), style("latency--min-line")
        max_row = min(height - 1, int(high / top * height))
        min_row = min(height - 1, int(low / top * height))
        pad = width - len(shown)
        rows: list[Text] = []
        for level in range(height - 1, -1, -1):  # top row first
            line_char, line_style = " ", Style()
            if level == max_row:
                line_char, line_style = "╌", max_style
            elif level == min_row and low > 0:
                line_char, line_style = "╌", min_style
            row = Text(line_char * pad, style=line_style, no_wrap=True, overflow="crop")
            for beat in shown:
                bar_style = outcome_style.get(beat.outcome, outcome_style["ok"])
                if beat.latency_ms is None:
                    row.append(_NO_ANSWER, bar_style)
                    continue
                eighths = round(beat.latency_ms / top * height * 8)
                filled = max(0, min(8, eighths - level * 8))
                if level == 0 and filled == 0:
                    filled = 1  # every beat shows, however fast
                if filled:
                    row.append(_EIGHTHS[filled], bar_style)
                else:
                    row.append(line_char, line_style)
            rows.append(row)
        return rows

    def _legend(self, width: int) -> Text:
        low, high = self.thresholds_ms
        style = self.get_component_rich_style
        dim = style("latency--dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.beats:
            last = self.beats[-1]
            shown = (
                f"{last.latency_ms:.0f} ms"
                if last.latency_ms is not None
                else literal(last.error or "no answer")
            )
            if last.status is not None and last.status >= 400:
                shown += f" (status {last.status})"
            # A job queue's beat: the wait is the oldest job's; say how many wait.
            queue = last.queue_depth is not None
            text.append("oldest job waited " if queue else "last ", dim)
            text.append(shown, style(f"latency--{last.outcome}") + Style(bold=True))
            if queue:
                text.append(
                    f", {last.queue_depth} {'job' if last.queue_depth == 1 else 'jobs'} waiting",
                    dim,
                )
            elif last.request_queue_ms is not None:
                text.append(f", request queue p95 {last.request_queue_ms:.0f} ms", dim)
            text.append("  ")
        else:
            text.append("waiting for the first beat  ", dim)
        text.append("pass <", dim)
        text.append(f"{low:g}", style("latency--pass"))
        text.append("  fail >", dim)
        text.append(f"{high:g}", style("latency--fail"))
        text.append(" ms", dim)
        text.truncate(width, overflow="ellipsis")
        return text

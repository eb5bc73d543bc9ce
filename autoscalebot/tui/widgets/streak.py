"""The streak panel: how close the bot is to scaling, and the last outcomes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.widget import Widget

from autoscalebot.engine import events as ev

MARKS = {"fail": "✗", "ok": "•", "pass": "✓"}
"""One mark per outcome; they read without colour too."""
_BAR_CELLS = 12  # a longer streak limit is drawn to scale


class StreakPanel(Widget):
    """``fails ■■□ 2/3`` and ``passes □□□□□ 0/5`` against their limits, and a
    row of the last outcomes, newest on the right."""

    COMPONENT_CLASSES = {"streak--fail", "streak--pass", "streak--ok", "streak--dim"}
    DEFAULT_CSS = """
    StreakPanel { height: auto; }
    StreakPanel > .streak--fail { color: $error; }
    StreakPanel > .streak--pass { color: $success; }
    StreakPanel > .streak--ok { color: $warning; }
    StreakPanel > .streak--dim { color: $text-muted; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.streaks: dict[str, tuple[int, int]] = {}
        """``{"fails": (n, of), "passes": (n, of)}`` as the policy reports it."""
        self.outcomes: deque[str] = deque(maxlen=120)
        """The last outcomes, oldest first."""

    def add_beats(self, beats: Iterable[ev.Beat]) -> None:
        """Take the outcomes and the streaks the beats carry."""
        for beat in beats:
            self.outcomes.append(beat.outcome)
            if beat.streaks:
                self.streaks = beat.streaks
        self.refresh()

    def set_streaks(self, streaks: dict[str, tuple[int, int]]) -> None:
        """Take the streaks from a status snapshot (they reset after a scale)."""
        if streaks and streaks != self.streaks:
            self.streaks = dict(streaks)
            self.refresh()

    def render(self) -> Text:
        width = max(1, self.content_size.width)
        style = self.get_component_rich_style
        dim = style("streak--dim")
        lines = []
        for key, label, tone in (("fails", "fails ", "fail"), ("passes", "passes", "pass")):
            n, of = self.streaks.get(key, (0, 0))
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{label} ", dim)
            if of:
                cells = min(of, _BAR_CELLS)
                filled = cells if n >= of else int(n * cells / of)
                line.append("■" * filled, style(f"streak--{tone}"))
                line.append("□" * (cells - filled), dim)
                line.append(" " * (_BAR_CELLS - cells + 1))
                line.append(f"{n}/{of}", style(f"streak--{tone}") if n else dim)
            else:
                line.append("–", dim)
            lines.append(line)
        recent = Text(no_wrap=True, overflow="crop")
        recent.append("recent ", dim)
        room = max(0, width - len(recent))
        for outcome in list(self.outcomes)[-room:] if room else []:
            recent.append(MARKS.get(outcome, "?"), style(f"streak--{outcome}"))
        lines.append(recent)
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        return Text("\n").join(lines)

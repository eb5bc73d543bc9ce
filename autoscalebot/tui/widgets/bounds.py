"""The window panel: MIN_DYNOS–MAX_DYNOS now, and the schedule's next change."""

from __future__ import annotations

from rich.text import Text

from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.widgets.status_view import StatusView


class BoundsPanel(StatusView):
    """The [min, max] window that holds now, when it changes next and to what."""

    COMPONENT_CLASSES = {"bounds--now", "bounds--next", "bounds--dim"}
    DEFAULT_CSS = """
    BoundsPanel { height: 1fr; }
    BoundsPanel > .bounds--now { text-style: bold; }
    BoundsPanel > .bounds--next { color: $accent; }
    BoundsPanel > .bounds--dim { color: $text-muted; }
    """

    def __init__(
        self,
        clock: ClockFace,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        """Formats the change time and the time left until it."""

    def render(self) -> Text:
        style = self.get_component_rich_style
        dim = style("bounds--dim")
        status = self.status
        if status is None:
            return Text("")
        change, upcoming = status.next_bounds_change, status.next_bounds
        if change is not None and upcoming is not None and self.clock.passed(change):
            # The schedule changed since the engine's last snapshot: its new
            # window holds now; what follows it comes with the next snapshot.
            (low, high), change, upcoming = upcoming, None, None
        else:
            low, high = status.min, status.max
        text = Text()
        text.append("now  ", dim)
        text.append(f"{low}–{high}", style("bounds--now"))
        text.append(" dynos\n", dim)
        text.append("next ", dim)
        if status.next_bounds_change is None or status.next_bounds is None:
            text.append("none, fixed all day", dim)
            return text
        if change is None or upcoming is None:
            text.append("changing…", dim)
            return text
        text.append(f"{upcoming[0]}–{upcoming[1]}", style("bounds--next"))
        text.append(f" at {self.clock.hm(change)}\n", dim)
        text.append("     in ", dim)
        text.append(self.clock.left(change))
        return text

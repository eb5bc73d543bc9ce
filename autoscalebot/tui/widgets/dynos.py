"""The dynos panel: the count now, the target, and why."""

from __future__ import annotations

from rich.text import Text

from autoscalebot.tui.widgets.literal import fit, literal_text
from autoscalebot.tui.widgets.status_view import StatusView


class DynosPanel(StatusView):
    """Dynos running now, the count the bot is heading for, and the reason
    of the last decision (the evidence, e.g. ``3 beats over 1000 ms: ...``)."""

    COMPONENT_CLASSES = {"dynos--count", "dynos--target", "dynos--dim"}
    DEFAULT_CSS = """
    DynosPanel { height: 1fr; }
    DynosPanel > .dynos--count { text-style: bold; color: $text; }
    DynosPanel > .dynos--target { text-style: bold; color: $accent; }
    DynosPanel > .dynos--dim { color: $text-muted; }
    """

    def render(self) -> Text:
        style = self.get_component_rich_style
        dim = style("dynos--dim")
        status = self.status
        if status is None:
            return Text("asking the platform…", dim)
        text = Text()
        text.append("now    ", dim)
        text.append("?" if status.current is None else str(status.current), style("dynos--count"))
        # (up, starting) when the platform says which dynos serve (Heroku's dyno
        # states, Kubernetes' readyReplicas); absent, the count stands alone.
        readiness = getattr(status, "readiness", None)
        if readiness is not None:
            up, starting = readiness
            text.append(f"  {up} up" + (f", {starting} starting" if starting else ""), dim)
        if status.target is not None and status.target != status.current:
            text.append("  → target ", dim)
            text.append(str(status.target), style("dynos--target"))
        else:
            text.append("  steady", dim)
        text.append("\n")
        text.append("window ", dim)
        text.append(f"{status.min}–{status.max}")
        # The reason (a server's words, maybe) gets the rows left, then an ellipsis.
        reason = literal_text(status.last_reason or "no scaling decision yet", dim)
        width, height = self.content_size
        rows = height - len(text.wrap(self.app.console, width)) if width > 0 else 0
        if rows > 0:
            text.append("\n")
            text.append_text(fit(reason, width, rows, self.app.console))
        return text

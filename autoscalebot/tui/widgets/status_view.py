"""The base of the panels that show the engine's status snapshot."""

from __future__ import annotations

from textual.widget import Widget

from autoscalebot.engine import events as ev


class StatusView(Widget):
    """A widget that draws the last :class:`~autoscalebot.engine.events.Status`.

    The snapshot is replaced, never changed in place; the widget repaints
    only when a different one arrives.
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.status: ev.Status | None = None
        """The last status snapshot (None until the engine reports)."""

    def set_status(self, status: ev.Status) -> None:
        """Show a new snapshot."""
        if status != self.status:
            self.status = status
            self.refresh()

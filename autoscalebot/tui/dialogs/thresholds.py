"""The threshold editor: a modal over the editable settings, validated as the
engine would, applied to the running engine and saved to the TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.events import DescendantFocus
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from autoscalebot.config import SPEC, ConfigError, Setting, Settings
from autoscalebot.engine.schedule import Schedule

EDITABLE: tuple[Setting, ...] = tuple(s for s in SPEC if s.editable)
"""The settings the editor offers: the table's ``editable`` rows."""

FIELD_CELLS = 16
"""Cells a field shows (``#fields`` in app.tcss); a longer schedule is also
written out in full below the fields."""


@dataclass(frozen=True)
class ThresholdsEdit:
    """What the editor returns on save."""

    settings: Settings
    """The new settings, validated."""
    changes: dict[str, Any] = field(default_factory=dict)
    """Only what changed: seed name -> value (as the settings hold it)."""


def _is_whole(spec: Setting) -> bool:
    return isinstance(spec.default, int | Schedule) and not isinstance(spec.default, bool)


def _unit(spec: Setting) -> str:
    name = spec.name
    if name.endswith("_IN_MS"):
        return "ms"
    if name.endswith("_IN_SECONDS"):
        return "s"
    if name.startswith("NUMBER_OF_"):
        return "beats"
    return "dynos"


def _text(value: Any) -> str:
    if isinstance(value, Schedule):
        return str(value.entries[0][1]) if value.is_constant else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _is_schedule(value: Any) -> bool:
    return isinstance(value, Schedule) and not value.is_constant


class ThresholdsDialog(ModalScreen[ThresholdsEdit | None]):
    """Edit MIN/MAX response times, streak counts, MIN/MAX dynos, INCREMENT,
    cool-off and the interval. Every value is checked by
    :meth:`Settings.with_changes`, the engine's own validation; a refused value
    shows the reason and nothing is applied or written."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="thresholds.cancel",
            tooltip="Close without changing anything",
        ),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="thresholds.save",
            tooltip="Apply to the engine and save to the TOML file",
        ),
        Binding("down", "app.focus_next", "Next field", show=False, id="thresholds.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="thresholds.previous"),
    ]

    def __init__(
        self, settings: Settings, *, save_to: Path | None, where: str | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        """The settings the editor starts from."""
        self.save_to = save_to
        """The TOML file the app saves to (None: applied, not saved)."""
        self.where = where
        """Where edits go, when not this console's own file (an attached bot's note)."""
        self.error = ""
        """The reason the form is refused, as shown (empty when it is valid)."""
        self._initial = {spec.name: _text(settings.value(spec.name)) for spec in EDITABLE}

    def compose(self) -> ComposeResult:
        with Vertical(id="thresholds") as box:
            box.border_title = "Thresholds"
            where = (
                f"saved to {self.save_to}"
                if self.save_to
                else "not saved (demo: pass --config PATH to save)"
            )
            intro = (
                f"Applied to the running engine at once; {where}."
                if self.where is None
                else self.where
            )
            yield Static(intro, id="intro", markup=False)
            with Grid(id="fields"):
                for spec in EDITABLE:
                    value = self.settings.value(spec.name)
                    schedule = _is_schedule(value)
                    yield Label(spec.name, classes="name")
                    yield Input(
                        self._initial[spec.name],
                        id=f"field-{spec.name}",
                        type="integer" if _is_whole(spec) else "number",
                        compact=True,
                        disabled=schedule,
                        tooltip=spec.help,
                    )
                    yield Label("schedule: in TOML" if schedule else _unit(spec), classes="unit")
            cut = [
                f"  {spec.name}  {self._initial[spec.name]}"
                for spec in EDITABLE
                if _is_schedule(self.settings.value(spec.name))
                and len(self._initial[spec.name]) > FIELD_CELLS
            ]
            if cut:  # too long for its field: shown in full, wrapped
                text = "\n".join(["By time of day (edit in the TOML file):", *cut])
                yield Static(text, id="schedules", markup=False)
            yield Static("", id="help", markup=False)
            yield Static("", id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        first = next((i for i in self.query(Input) if not i.disabled), None)
        if first is not None:
            first.focus()

    def field(self, name: str) -> Input:
        """The input for the setting ``name``."""
        return self.query_one(f"#field-{name}", Input)

    def changed_text(self) -> dict[str, str]:
        """What the operator typed, for the fields that differ from the start."""
        out = {}
        for spec in EDITABLE:
            box = self.field(spec.name)
            if not box.disabled and box.value.strip() != self._initial[spec.name]:
                out[spec.name] = box.value.strip()
        return out

    def check(self) -> ThresholdsEdit | ConfigError:
        """Validate the form as the engine will; the new settings or the reason."""
        typed = self.changed_text()
        try:
            new = self.settings.with_changes(typed)
        except ConfigError as exc:
            return exc
        changes = {
            name: new.value(name) for name in typed if new.value(name) != self.settings.value(name)
        }
        return ThresholdsEdit(new, changes)

    def _show(self, result: ThresholdsEdit | ConfigError) -> None:
        error = self.query_one("#error", Static)
        bad = result.setting if isinstance(result, ConfigError) else None
        for spec in EDITABLE:
            self.field(spec.name).set_class(spec.name == bad, "rejected")
        self.error = str(result) if isinstance(result, ConfigError) else ""
        error.update(self.error)
        error.set_class(bad is not None, "shown")

    @on(Input.Changed)
    def _revalidate(self, event: Input.Changed) -> None:
        self._show(self.check())

    @on(DescendantFocus)
    def _explain(self, event: DescendantFocus) -> None:
        widget = event.widget
        if isinstance(widget, Input) and widget.id and widget.id.startswith("field-"):
            name = widget.id.removeprefix("field-")
            spec = next(s for s in EDITABLE if s.name == name)
            self.query_one("#help", Static).update(spec.help)

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Apply when valid; otherwise say why and keep the dialog open."""
        result = self.check()
        self._show(result)
        if isinstance(result, ConfigError):
            self.app.bell()
            bad = self.query(f"#field-{result.setting}")
            if bad:  # a rule may name a setting that is not a field here
                bad.first().focus()
            return
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

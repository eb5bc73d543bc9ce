"""Saving an edit made on a running bot, for the console and the control channel alike.

The environment and ``--set`` win over the TOML file at every start, so an
edit to a setting they pin is saved with a warning, and an edit that the next
start would refuse (once they win again) is not saved at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoscalebot.config.settings import SPEC_BY_NAME, ConfigError, Settings
from autoscalebot.config.store import save_settings

WINS_OVER_TOML = ("env", "flag")
"""Origins that override the TOML file at every start."""


def pinned(settings: Settings) -> dict[str, tuple[str, Any]]:
    """Settings the environment or a flag set at start: name -> (origin, value)."""
    return {
        name: (origin, settings.value(name))
        for name, origin in settings.origins.items()
        if origin in WINS_OVER_TOML and name in SPEC_BY_NAME
    }


@dataclass(frozen=True)
class SaveOutcome:
    """What became of an edit: saved or not, and a sentence for the operator."""

    saved: bool
    severity: str  # "information", "warning" or "error"
    message: str


def save_edit(
    path: Path | None,
    new: Settings,
    changes: Mapping[str, Any],
    pins: Mapping[str, tuple[str, Any]],
    *,
    unsaved: str = "not saved: no --config file",
) -> SaveOutcome:
    """Save ``changes`` (already applied, giving ``new``) to the TOML file at ``path``."""
    if path is None:
        return SaveOutcome(False, "information", unsaved)
    overridden = sorted(name for name in changes if name.upper() in pins)
    sources = ", ".join(f"{name} ({_source(pins[name.upper()][0])})" for name in overridden)
    try:
        new.with_changes({name: value for name, (_, value) in pins.items()})
    except ConfigError as exc:
        return SaveOutcome(
            False,
            "error",
            f"NOT saved to {path}: at the next start {sources or 'the environment or --set'} "
            f"would win over the file, and then {exc}. Change it there, or edit another setting.",
        )
    try:
        save_settings(path, changes)
    except (ConfigError, OSError) as exc:
        return SaveOutcome(False, "error", f"not saved: {exc}")
    if overridden:
        return SaveOutcome(
            True, "warning", f"saved to {path}, but {sources} wins at the next start"
        )
    return SaveOutcome(True, "information", f"saved to {path}")


def _source(origin: str) -> str:
    return "from the environment" if origin == "env" else "from --set"

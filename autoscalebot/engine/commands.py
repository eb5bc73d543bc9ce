"""Commands the operator sends to a running engine (``Engine.submit``).

They are applied on the engine's own thread between beats, so the console
never touches engine state directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Command:
    """Base of all commands.

    ``ref`` (optional) comes back on the :class:`OperatorAction` events that
    answer the command, so a remote client can match the answer to its request.
    """

    ref: str | None = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Pause(Command):
    """Stop scaling (beats go on and are shown)."""


@dataclass(frozen=True)
class Resume(Command):
    """Scale again."""


@dataclass(frozen=True)
class ForceScale(Command):
    """Scale by ``delta`` dynos now (clamped to the bounds).

    With ``override=True`` and ``to`` set, asks for exactly ``to`` even outside
    the bounds: the explicit operator override the safety rules allow.
    Automatic scaling then holds for ``MANUAL_HOLD_IN_SECONDS``.
    """

    delta: int = 0
    to: int | None = None
    override: bool = False


@dataclass(frozen=True)
class UpdateSettings(Command):
    """Apply new values (seed names, e.g. ``MAX_RESPONSE_TIME_IN_MS``)."""

    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefreshCount(Command):
    """Read the platform's count now instead of at the next refresh."""

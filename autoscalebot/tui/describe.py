"""How engine events read in the console's log: one short line each.

Pure functions of the event, so the wording is tested without a screen.
Beats and status snapshots are not logged (the panels show them), nor are
notifications that only repeat an event already logged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from autoscalebot.engine import events as ev
from autoscalebot.logfmt import escape_controls

Tone = Literal["up", "down", "good", "bad", "warn", "info"]

# Notification kinds whose event is already in the log under its own line.
_SHOWN_ELSEWHERE = frozenset({"scale", "scale_failed", "recovered", "ping"})

_GATES = {
    "paused": "paused",
    "cooling": "cooling off",
    "hold": "manual hold",
    "backoff": "API backoff",
}


@dataclass(frozen=True)
class LogLine:
    """One line of the log: a glyph that reads without colour, and words."""

    tone: Tone
    glyph: str
    text: str
    repeat_key: tuple[object, ...] | None = None
    """Lines with the same key in a row are shown once (a paused engine
    re-decides every beat)."""


def _dynos(n: int | None) -> str:
    if n is None:
        return "? dynos"
    return f"{n} dyno" if n == 1 else f"{n} dynos"


def describe(event: ev.Event) -> LogLine | None:
    """The log line for ``event``, or None when it is not logged.

    Its words are shown literally: reasons and details come from servers and
    commands, so their controls and line breaks are escaped (one event, one
    entry) and nothing in them is read as markup.
    """
    line = _describe(event)
    if line is None:
        return None
    return replace(line, text=escape_controls(line.text))


def _describe(event: ev.Event) -> LogLine | None:
    if isinstance(event, ev.Started):
        mode = " (dry-run: the API is never called)" if event.dry_run else ""
        return LogLine(
            "info",
            "●",
            f"started on {event.app}: {_dynos(event.current)}, "
            f"window {event.min}–{event.max}{mode}",
        )
    if isinstance(event, ev.Scaled):
        up = event.after > event.before
        who = "by operator" if event.manual else "automatically"
        verb = "scaled up" if up else "scaled down"
        return LogLine(
            "up" if up else "down",
            "▲" if up else "▼",
            f"{verb} {event.before} → {event.after} {who}: {event.reason}",
        )
    if isinstance(event, ev.Decided):
        if event.action == "dry-run":
            return LogLine(
                "info",
                "◇",
                f"would scale {event.current} → {event.target} (dry-run): {event.reason}",
            )
        gate = _GATES.get(event.action)
        if gate is None:
            return None  # "scale": the Scaled or ScaleFailed line follows
        return LogLine(
            "warn",
            "◇",
            f"wants {event.current} → {event.target}, waiting ({gate}): {event.reason}",
            repeat_key=(event.action, event.current, event.target),
        )
    if isinstance(event, ev.ScaleFailed):
        return LogLine("bad", "✗", f"scaling to {event.target} failed: {event.reason}")
    if isinstance(event, ev.Drift):
        return LogLine(
            "warn",
            "≠",
            f"drift: recorded {_dynos(event.recorded)}, "
            f"the platform runs {event.actual} (scaled by hand?)",
        )
    if isinstance(event, ev.Trouble):
        return LogLine("bad", "!", f"{event.source} failing: {event.reason}")
    if isinstance(event, ev.Recovered):
        return LogLine("good", "✓", f"{event.source} works again")
    if isinstance(event, ev.Notified):
        note = event.notification
        if note.kind in _SHOWN_ELSEWHERE:
            return None
        return LogLine("warn", "✉", str(note))
    if isinstance(event, ev.OperatorAction):
        if event.accepted:
            return LogLine("info", "◆", f"operator {event.action}: {event.detail}")
        return LogLine("bad", "⊘", f"refused {event.action}: {event.detail}")
    if isinstance(event, ev.Stopped):
        return LogLine(
            "bad" if event.reason.startswith("error") else "info",
            "■",
            f"engine stopped: {event.reason}",
        )
    return None

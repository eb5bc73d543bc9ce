"""The headless face's output: one logfmt line per event on a stream.

``at=2026-11-28T10:00:00Z event=beat latency_ms=1350 outcome=fail fails=3/3``
is what Heroku's log drains, Papertrail and ``grep`` all read well.
"""

from __future__ import annotations

import re
import sys
import threading
from datetime import UTC
from typing import IO, Any

from autoscalebot.engine import events as ev

_BARE = re.compile(r"^[A-Za-z0-9_./:@+-]+$")
# Control characters would split or forge a line; \n and friends are escaped.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char, f"\\x{ord(char):02x}")


def format_value(value: Any) -> str:
    """A logfmt value: bare when safe, else double-quoted with escapes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    if _BARE.match(text):
        return text
    return '"' + _CONTROL.sub(_escape, text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def line(pairs: dict[str, Any]) -> str:
    """``key=value key=value`` (keys with None values are left out)."""
    return " ".join(f"{k}={format_value(v)}" for k, v in pairs.items() if v is not None)


def fields(event: ev.Event) -> dict[str, Any] | None:
    """The logfmt fields of an event, or None for events the log skips."""
    at = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    head: dict[str, Any] = {"at": at, "event": event.kind}
    body: dict[str, Any]
    match event:
        case ev.Started():
            body = {
                "app": event.app,
                "dynos": event.current,
                "min": event.min,
                "max": event.max,
                "dry_run": event.dry_run,
            }
        case ev.Beat():
            body = {
                "latency_ms": event.latency_ms,
                "status": event.status,
                "error": event.error,
                "outcome": event.outcome,
                **{k: f"{n}/{of}" for k, (n, of) in event.streaks.items()},
                "dynos": event.current,
            }
        case ev.Decided():
            body = {
                "action": event.action,
                "from": event.current,
                "to": event.target,
                "reason": event.reason,
            }
        case ev.Scaled():
            body = {
                "from": event.before,
                "to": event.after,
                "manual": event.manual,
                "reason": event.reason,
            }
        case ev.ScaleFailed():
            body = {"dynos": event.current, "to": event.target, "reason": event.reason}
        case ev.Drift():
            body = {
                "recorded": event.recorded,
                "actual": event.actual,
                "reason": "scaled outside autoscalebot",
            }
        case ev.Trouble():
            body = {"source": event.source, "reason": event.reason}
        case ev.Recovered():
            body = {"source": event.source}
        case ev.Notified():
            n = event.notification
            body = {"kind": n.kind, "message": n.message, "reason": n.reason or None}
        case ev.OperatorAction():
            body = {"action": event.action, "accepted": event.accepted, "detail": event.detail}
        case ev.Stopped():
            body = {"reason": event.reason}
        case _:
            return None
    return head | {k: v for k, v in body.items() if k not in head}


class LogfmtSink:
    """An event sink that writes logfmt lines (thread-safe, flushed per line)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        pairs = fields(event)
        if pairs is not None:
            self._write(pairs)

    def _write(self, pairs: dict[str, Any]) -> None:
        """Write one line now."""
        text = line(pairs)
        with self._lock:
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # stdout closed under us (piped to head): nothing left to tell

"""The headless face's output: one logfmt line per event on a stream.

``at=2026-11-28T10:00:00Z event=beat latency_ms=1350 outcome=fail fails=3/3``
is what Heroku's log drains, Papertrail and ``grep`` all read well.
"""

from __future__ import annotations

import re
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any

from autoscalebot.engine import events as ev

_BARE = re.compile(r"[A-Za-z0-9_./:@+-]+")
# One event, one physical line, for any reader: every character that some
# reader takes as a line break (str.splitlines: \n \r \v \f \x1c-\x1e \x85
# \u2028 \u2029), every other C0/C1 control and DEL, and the bidi overrides
# (which make a line read as something else) are written as escapes.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.#-]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """``text`` with line breaks, controls and bidi overrides as ``\\n``,
    ``\\x1b``, ``\\u2028``...: the one rule for showing outside text literally
    on one line (the log here, the console's panels and toasts)."""
    return _UNSAFE.sub(_escape, text)


def format_value(value: Any) -> str:
    """A logfmt value: bare when safe, else double-quoted with escapes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + escape_controls(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def format_key(key: str) -> str:
    """A logfmt key: letters, digits, ``_ . # -`` (anything else becomes ``_``)."""
    return _KEY_UNSAFE.sub("_", key) or "_"


def line(pairs: dict[str, Any]) -> str:
    """``key=value key=value`` (keys with None values are left out)."""
    return " ".join(f"{format_key(k)}={format_value(v)}" for k, v in pairs.items() if v is not None)


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
                "queue_depth": event.queue_depth,
                "request_queue_ms": event.request_queue_ms,
                "rps": event.request_rate,
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
        case ev.Listening():
            one = event.formations[0] if len(event.formations) == 1 else None
            body = {"formation": one, "formations": len(event.formations), "socket": event.socket}
        case _:
            return None
    return head | {k: v for k, v in body.items() if k not in head} | metrics(event)


METRIC_PREFIX = "autoscalebot."
"""Namespace of the l2met metric names, apart from the app's own in one drain."""


def metrics(event: ev.Event) -> dict[str, str]:
    """The l2met fields of an event (``sample#``: last value, ``measure#``:
    distribution, ``count#``: sum), for Heroku log-drain metrics add-ons.

    ``sample#autoscalebot.dynos=3 measure#autoscalebot.latency=350.0ms
    count#autoscalebot.beats.fail=1``; a ``trouble`` line's own ``source=``
    (the failing part) qualifies its count, as l2met's ``source`` does.
    """
    out: dict[str, str] = {}

    def sample(name: str, value: int | None) -> None:
        if value is not None:
            out[f"sample#{METRIC_PREFIX}{name}"] = str(value)

    def count(name: str) -> None:
        out[f"count#{METRIC_PREFIX}{name}"] = "1"

    match event:
        case ev.Started():
            sample("dynos", event.current)
            sample("dynos.min", event.min)
            sample("dynos.max", event.max)
        case ev.Beat():
            sample("dynos", event.current)
            if event.latency_ms is not None:
                out[f"measure#{METRIC_PREFIX}latency"] = f"{event.latency_ms:.1f}ms"
            count(f"beats.{event.outcome}")
            sample("queue.depth", event.queue_depth)
            if event.request_queue_ms is not None:
                out[f"measure#{METRIC_PREFIX}request_queue"] = f"{event.request_queue_ms:.1f}ms"
            for name, (n, _) in event.streaks.items():
                sample(f"streak.{name}", n)
        case ev.Scaled():
            sample("dynos", event.after)
            count("scales")
        case ev.ScaleFailed():
            count("scale_failures")
        case ev.Drift():
            sample("dynos", event.actual)
            count("drift")
        case ev.Trouble():
            count("trouble")
    return out


class LogfmtSink:
    """An event sink that writes logfmt lines (thread-safe, flushed per line)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        self.write(event)

    def write(self, event: ev.Event, formation: str | None = None) -> None:
        """One line for ``event``; ``formation=...`` right after ``event=`` when given."""
        pairs = fields(event)
        if pairs is None:
            return
        if formation is not None and "formation" not in pairs:
            at, kind = pairs.pop("at"), pairs.pop("event")
            pairs = {"at": at, "event": kind, "formation": formation} | pairs
        self._write(pairs)

    def sink_for(self, formation: str) -> ev.Sink:
        """The sink of one formation: every line it writes says ``formation=<id>``."""
        return lambda event: self.write(event, formation)

    def note(self, kind: str, at: datetime, formation: str | None = None, **body: Any) -> None:
        """A line that is no engine event: ``event=<kind> formation=<id> key=value...``."""
        stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self._write({"at": stamp, "event": kind, "formation": formation, **body})

    def _write(self, pairs: dict[str, Any]) -> None:
        """Write one line now."""
        text = line(pairs)
        with self._lock:
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # stdout closed under us (piped to head): nothing left to tell

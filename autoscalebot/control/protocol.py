"""The control channel's wire format: one JSON object per line (UTF-8).

JSON lines are what every language and ``socat``/``nc -U`` can speak, and the
standard library reads and writes them; a line is one message, so framing is
the newline and nothing more.

Server to client::

    {"type": "hello", "v": 1, "pid": 123, "version": "3.0.0", "formations": [{...}]}
    {"type": "event", "formation": "myapp/web", "event": {"kind": "beat", "at": "...", ...}}
    {"type": "reply", "id": "7", "formation": "myapp/web", "ok": true, "detail": "..."}
    {"type": "error", "detail": "..."}

Client to server::

    {"type": "command", "id": "7", "formation": "myapp/web", "command": "pause"}
    ... "command": "resume" | "status"
    ... "command": "scale", "to": 4 (or "delta": 1), "override": false
    ... "command": "set", "changes": {"MAX_DYNOS": 8}

Events are the engine's own dataclasses, field for field (:func:`encode_event`,
:func:`decode_event`), so a console attached over the socket shows exactly
what a console beside the engine shows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from autoscalebot.engine import events as ev

VERSION = 1
"""The protocol's version, in the hello; a client refuses a newer major."""

MAX_LINE = 1 << 20
"""Longest line either side accepts (bytes); a longer one ends the connection."""

MAX_COMMAND_LINE = 64 << 10
"""Longest line the server accepts from a client: commands are small."""


class ProtocolError(Exception):
    """A message that is not valid for this protocol; the text says why."""


def dumps(message: Mapping[str, Any]) -> bytes:
    """One message as one line of bytes (non-finite floats become null)."""
    return (json.dumps(_plain(message), separators=(",", ":"), allow_nan=False) + "\n").encode()


def loads(line: bytes) -> dict[str, Any]:
    """One line as a message; raises :class:`ProtocolError`."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('a message is a JSON object with a "type"')
    return message


# ---- events ----


def encode_event(event: ev.Event) -> dict[str, Any]:
    """An engine event as a JSON-ready dict with its ``kind``."""
    out: dict[str, Any] = {"kind": event.kind}
    out.update(_plain(_fields(event)))
    return out


def decode_event(data: Mapping[str, Any]) -> ev.Event | None:
    """The engine event ``data`` stands for; None for a kind this side does not know
    (a newer bot), so old consoles keep working. Raises :class:`ProtocolError`."""
    cls = _event_kinds().get(str(data.get("kind")))
    if cls is None:
        return None
    try:
        return typing.cast(ev.Event, _build(cls, data))
    except (TypeError, ValueError, KeyError) as exc:
        raise ProtocolError(f"a {data.get('kind')} event that does not fit: {exc}") from None


def encode_status(status: ev.Status) -> dict[str, Any]:
    return typing.cast(dict[str, Any], _plain(_fields(status)))


def decode_status(data: Mapping[str, Any]) -> ev.Status:
    try:
        return typing.cast(ev.Status, _build(ev.Status, data))
    except (TypeError, ValueError, KeyError) as exc:
        raise ProtocolError(f"a status that does not fit: {exc}") from None


@cache
def _event_kinds() -> dict[str, type[ev.Event]]:
    kinds: dict[str, type[ev.Event]] = {}
    todo: list[type[ev.Event]] = [ev.Event]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not ev.Event:
            kinds[cls.kind] = cls
    return kinds


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}


def _plain(value: Any) -> Any:
    """``value`` as JSON types: datetimes in ISO 8601, dataclasses and tuples opened."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in _fields(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__} needs an object")
    hints = _hints(cls)
    kwargs = {
        f.name: _typed(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name in data
    }
    return cls(**kwargs)


def _typed(tp: Any, value: Any) -> Any:
    """``value`` from JSON, turned back into type ``tp`` (datetimes, tuples, dataclasses)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _typed(arg, value)
            except (TypeError, ValueError):
                continue
        raise ValueError(f"{value!r} fits none of {tp}")
    if tp is datetime:
        if not isinstance(value, str):
            raise TypeError(f"a time is text, not {value!r}")
        return datetime.fromisoformat(value)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, not {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], v) for v in value)
        if len(args) != len(value):
            raise ValueError(f"expected {len(args)} items, not {len(value)}")
        return tuple(_typed(a, v) for a, v in zip(args, value, strict=True))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, not {value!r}")
        inner = args[1] if len(args) == 2 else Any
        return {str(k): _typed(inner, v) for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, not {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected a whole number, not {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise TypeError(f"expected text, not {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, not {value!r}")
        return value
    return value  # Any, Literal: as sent

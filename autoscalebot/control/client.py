"""The client side of the control channel: one-shot requests (``autoscalebot
ctl``) and a live link that feeds a console and survives the bot restarting."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autoscalebot.control import protocol
from autoscalebot.control.protocol import ProtocolError
from autoscalebot.engine import events as ev
from autoscalebot.engine.commands import Command, ForceScale, Pause, Resume, UpdateSettings


class NoBot(Exception):
    """No bot answered on the socket (the text says why)."""


@dataclass(frozen=True)
class FormationInfo:
    """One formation a bot scales, as its hello describes it."""

    id: str
    app: str
    process_type: str
    platform: str
    config_note: str
    settings: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, f: Mapping[str, Any]) -> FormationInfo:
        return cls(
            id=str(f.get("id", "?")),
            app=str(f.get("app", "?")),
            process_type=str(f.get("process_type", "?")),
            platform=str(f.get("platform", "?")),
            config_note=str(f.get("config_note", "")),
            settings=dict(f.get("settings") or {}),
            origins={str(k): str(v) for k, v in (f.get("origins") or {}).items()},
        )


@dataclass(frozen=True)
class Hello:
    """What a bot says about itself when a client connects."""

    pid: int
    version: str
    formations: dict[str, FormationInfo]
    """Every formation the bot scales, by id, in the bot's order."""

    @property
    def first(self) -> FormationInfo:
        """The first formation (the only one, for a bot of one)."""
        return next(iter(self.formations.values()))

    @property
    def formation(self) -> str:
        return self.first.id

    @property
    def app(self) -> str:
        return self.first.app

    @property
    def process_type(self) -> str:
        return self.first.process_type

    @property
    def config_note(self) -> str:
        return self.first.config_note

    @property
    def settings(self) -> dict[str, Any]:
        return self.first.settings

    @property
    def origins(self) -> dict[str, str]:
        return self.first.origins

    @property
    def title(self) -> str:
        """``attached to myapp/web (pid 123)``, or ``to 3 formations`` for a bot of many."""
        if len(self.formations) == 1:
            return f"attached to {self.app}/{self.process_type} (pid {self.pid})"
        return f"attached to {len(self.formations)} formations (pid {self.pid})"

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> Hello:
        if message.get("type") != "hello":
            raise ProtocolError(f"expected a hello, got {message.get('type')!r}")
        if int(message.get("v", 0)) > protocol.VERSION:
            raise ProtocolError(
                f"the bot speaks protocol {message.get('v')}; this client knows "
                f"{protocol.VERSION}: upgrade autoscalebot here"
            )
        listed = message.get("formations") or []
        if not listed or not all(isinstance(f, dict) for f in listed):
            raise ProtocolError("the hello names no formation")
        infos = [FormationInfo.parse(f) for f in listed]
        return cls(
            pid=int(message.get("pid") or 0),
            version=str(message.get("version", "?")),
            formations={f.id: f for f in infos},
        )


class Connection:
    """One connection to a bot's socket (blocking, with a timeout per read)."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except FileNotFoundError:
            self.sock.close()
            raise NoBot(f"no bot is listening at {path} (no such socket)") from None
        except OSError as exc:
            self.sock.close()
            raise NoBot(f"no bot answers at {path}: {exc.strerror or exc}") from None
        self._reader = self.sock.makefile("rb")
        self._ids = itertools.count(1)
        try:
            first = self.read()
        except (OSError, ProtocolError) as exc:
            self.close()
            raise NoBot(f"the bot at {path} did not say hello: {exc}") from None
        if first is None:
            self.close()
            raise NoBot(f"the bot at {path} closed the connection")
        if first.get("type") == "error":
            self.close()
            raise NoBot(f"the bot at {path} {first.get('detail', 'refused the connection')}")
        self.hello = Hello.parse(first)

    def read(self) -> dict[str, Any] | None:
        """The next message, or None when the bot closed the connection."""
        line = self._reader.readline(protocol.MAX_LINE + 1)
        if not line:
            return None
        if len(line) > protocol.MAX_LINE:
            raise ProtocolError("a line longer than the protocol allows")
        return protocol.loads(line)

    def send(self, message: Mapping[str, Any]) -> None:
        self.sock.sendall(protocol.dumps(message))

    def request(self, message: Mapping[str, Any], *, timeout: float = 40.0) -> dict[str, Any]:
        """Send a command and wait for its reply (events on the way are skipped)."""
        request_id = str(next(self._ids))
        self.send(
            {"type": "command", "formation": self.hello.formation, **message, "id": request_id}
        )
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {timeout:g} s")
            self.sock.settimeout(left)
            answer = self.read()
            if answer is None:
                raise NoBot("the bot closed the connection before answering")
            if answer.get("type") in ("reply", "error") and answer.get("id") == request_id:
                return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.close()
        with contextlib.suppress(OSError):
            self.sock.close()


def running_bots(folder: Path | None = None) -> list[tuple[Path, Hello]]:
    """Every bot answering on a socket in ``folder`` (default: this user's
    runtime folder), with what it says about itself; sockets nobody answers
    on are left out."""
    from autoscalebot.control.paths import SOCKET_SUFFIX, runtime_dir

    folder = folder or runtime_dir()
    try:
        candidates = sorted(folder.glob(f"*{SOCKET_SUFFIX}"))
    except OSError:
        return []
    found = []
    for path in candidates:
        try:
            conn = Connection(path, timeout=1.0)
        except NoBot:
            continue
        conn.close()
        found.append((path, conn.hello))
    return found


def command_message(command: Command) -> dict[str, Any]:
    """The wire form of an engine command (the inverse of ``server.to_command``)."""
    if isinstance(command, Pause):
        return {"command": "pause"}
    if isinstance(command, Resume):
        return {"command": "resume"}
    if isinstance(command, ForceScale):
        if command.to is not None:
            return {"command": "scale", "to": command.to, "override": command.override}
        return {"command": "scale", "delta": command.delta}
    if isinstance(command, UpdateSettings):
        return {"command": "set", "changes": dict(command.changes)}
    raise ValueError(f"{type(command).__name__} cannot be sent to a bot")


class RemoteLink:
    """A console's live link to a bot: events in, commands out.

    Each event goes to its formation's sink, ``sink_for(formation id)`` (asked
    once per formation, on the link's thread). Runs on its own thread; when
    the bot goes away it calls ``on_state(None, why)`` and keeps trying to
    connect again every ``retry`` seconds, calling ``on_state(hello, "")`` each
    time it is attached. Beats and events the console already has are not
    repeated after a reconnect.
    """

    def __init__(
        self,
        path: Path,
        sink_for: Callable[[str], ev.Sink],
        *,
        on_state: Callable[[Hello | None, str], object],
        on_reply: Callable[[dict[str, Any]], object] | None = None,
        retry: float = 1.0,
    ) -> None:
        self.path = path
        self.sink_for = sink_for
        self._sinks: dict[str, ev.Sink] = {}
        self.on_state = on_state
        self.on_reply = on_reply or (lambda reply: None)
        self.retry = retry
        self.hello: Hello | None = None
        self._conn: Connection | None = None
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoscalebot-attach", daemon=True)
        self._seen: dict[str, datetime] = {}  # each formation's newest event shown, for reconnects
        self._ids = itertools.count(1)

    def start(self) -> RemoteLink:
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> bool:
        """Leave the bot running; end the link."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def submit(self, command: Command, formation: str | None = None) -> str | None:
        """Send ``command`` to the bot, for ``formation`` (None: its first);
        returns why it could not be sent, or None."""
        conn = self._conn
        if conn is None:
            return "not attached: the bot is not answering (retrying)"
        if formation is not None and formation not in conn.hello.formations:
            return f"the bot no longer scales {formation}"
        message = {
            "type": "command",
            "id": f"tui.{next(self._ids)}",
            "formation": formation or conn.hello.formation,
            **command_message(command),
        }
        try:
            with self._send_lock:
                conn.send(message)
        except OSError as exc:
            return f"not sent: {exc.strerror or exc}"
        return None

    def _run(self) -> None:
        why = ""
        while not self._stop.is_set():
            try:
                conn = Connection(self.path, timeout=5.0)
            except NoBot as exc:
                if why != str(exc):
                    why = str(exc)
                    self.on_state(None, why)
                self._stop.wait(self.retry)
                continue
            conn.sock.settimeout(None)  # events come when they come; stop() shuts the socket
            self._conn, self.hello, why = conn, conn.hello, ""
            self.on_state(conn.hello, "")
            try:
                self._pump(conn)
            except (OSError, ProtocolError) as exc:
                why = f"connection lost: {exc}"
            finally:
                self._conn = None
                conn.close()
            if not self._stop.is_set():
                why = why or "the bot closed the connection"
                self.on_state(None, why)
                self._stop.wait(self.retry)

    def _sink(self, fid: str) -> ev.Sink:
        sink = self._sinks.get(fid)
        if sink is None:
            sink = self._sinks[fid] = self.sink_for(fid)
        return sink

    def _pump(self, conn: Connection) -> None:
        last_seen = dict(self._seen)  # as of the connection's start
        first = conn.hello.formation
        while not self._stop.is_set():
            message = conn.read()
            if message is None:
                return
            kind = message.get("type")
            if kind == "event":
                event = protocol.decode_event(message.get("event") or {})
                if event is None:
                    continue
                fid = str(message.get("formation") or first)
                # After a reconnect the snapshot repeats what is on screen already.
                seen = last_seen.get(fid)
                if (
                    seen is not None
                    and not isinstance(event, ev.StatusChanged)
                    and event.at <= seen
                ):
                    continue
                self._seen[fid] = event.at
                self._sink(fid)(event)
            elif kind in ("reply", "error"):
                self.on_reply(message)

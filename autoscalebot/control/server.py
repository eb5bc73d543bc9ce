"""The bot's side of the control channel: a Unix socket that streams events out
and takes commands in.

The engine calls :meth:`ControlServer.publish` (it is part of the engine's
sink) on its own thread; publishing only encodes the event once and offers it
to each client's bounded queue, so a client that stops reading is dropped and
never slows a beat. Each client has a reader thread (commands in, answers out)
and a writer thread (its queue onto the socket). Only the socket file's own
user may connect: the file is 0600 in a 0700 folder, and the peer's uid is
checked on every connection.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import socket
import stat
import struct
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoscalebot import __version__
from autoscalebot.config.settings import ConfigError
from autoscalebot.control import protocol
from autoscalebot.control.protocol import ProtocolError
from autoscalebot.engine import events as ev
from autoscalebot.engine.commands import Command, ForceScale, Pause, Resume, UpdateSettings

log = logging.getLogger(__name__)

BEATS_KEPT = 300
"""Recent beats sent on connect, so a new console has its sparkline at once."""

EVENTS_KEPT = 100
"""Recent log-worthy events (scales, trouble, operator actions) sent on connect."""

CLIENT_QUEUE = 2000
"""Messages a client may fall behind by before it is dropped."""

SEND_TIMEOUT = 5.0
"""Seconds one write to a client may block before the client is dropped."""

REPLY_TIMEOUT = 30.0
"""Seconds a command waits for the engine's answer (it is applied between beats)."""


class SocketInUse(ConfigError):
    """Another bot already serves this socket."""


@dataclass(frozen=True)
class Formation:
    """What the hello says about the formation this bot scales."""

    id: str
    app: str
    process_type: str
    platform: str
    config_note: str
    """Where the bot saves threshold edits (shown in the console's editor)."""


Saver = Callable[[str, Mapping[str, Any]], tuple[bool, str]]
"""Saves a formation's applied settings changes where the bot's config lives: (saved, message)."""


class _Client:
    """One connection: its socket, bounded outbound queue and threads."""

    def __init__(self, number: int, conn: socket.socket, pid: int | None) -> None:
        self.number = number
        self.conn = conn
        self.pid = pid
        self.outbox: queue.Queue[bytes | None] = queue.Queue(CLIENT_QUEUE)
        self.closed = threading.Event()

    def offer(self, data: bytes) -> bool:
        """Queue ``data`` without blocking; False when the client is too far behind."""
        if self.closed.is_set():
            return True
        try:
            self.outbox.put_nowait(data)
        except queue.Full:
            return False
        return True

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(queue.Full):
            self.outbox.put_nowait(None)  # wakes the writer


class _History:
    """What a new client gets of one formation: its start, recent events and beats, status."""

    def __init__(self, beats: int, events: int) -> None:
        self.beats: deque[bytes] = deque(maxlen=beats)
        self.events: deque[bytes] = deque(maxlen=events)
        self.started: bytes | None = None
        self.status: bytes | None = None
        self.status_event: ev.StatusChanged | None = None

    def record(self, event: ev.Event, data: bytes) -> None:
        if isinstance(event, ev.Beat):
            self.beats.append(data)
        elif isinstance(event, ev.StatusChanged):
            self.status, self.status_event = data, event
        elif isinstance(event, ev.Started):
            self.started = data
        else:
            self.events.append(data)

    def snapshot(self) -> list[bytes]:
        out = [self.started] if self.started is not None else []
        out.extend(self.events)
        out.extend(self.beats)
        if self.status is not None:
            out.append(self.status)
        return out


class _Pending:
    """A command waiting for the engine's answer."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: ev.OperatorAction | None = None


class ControlServer:
    """Serves one bot's control socket at ``path``, for every formation it scales.

    Build it, put :meth:`sink_for` each formation into that formation's engine
    sink, then :meth:`start` it with the engines. ``allowed_uid`` (default:
    this process's uid) is who may connect; ``saver`` persists settings edits.
    """

    def __init__(
        self,
        path: Path,
        formations: Formation | Sequence[Formation],
        *,
        saver: Saver | None = None,
        allowed_uid: int | None = None,
        reply_timeout: float = REPLY_TIMEOUT,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.path = path
        self.send_timeout = send_timeout
        listed = [formations] if isinstance(formations, Formation) else list(formations)
        self.formations = {f.id: f for f in listed}
        self.formation = listed[0]
        """The first formation: the one a command without a formation id means."""
        self.saver = saver
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.reply_timeout = reply_timeout
        self.engines: dict[str, Any] = {}
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._lock = threading.Lock()
        self._clients: dict[int, _Client] = {}
        self._numbers = itertools.count(1)
        self._requests = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        # A thousand formations keep a shorter history each: memory stays bounded.
        n = len(self.formations)
        beats = max(30, min(BEATS_KEPT, 30_000 // n))
        events = max(10, min(EVENTS_KEPT, 10_000 // n))
        self._history = {fid: _History(beats, events) for fid in self.formations}
        self._closing = threading.Event()
        self.dropped = 0
        """Clients dropped for falling behind (for tests and the benchmark)."""

    # ---- lifecycle ----

    def bind(self) -> ControlServer:
        """Create the socket (0600); raises :class:`SocketInUse` if a bot answers there."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _clear_stale(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # created 0600: no moment where another user could connect
        try:
            listener.bind(str(self.path))
        except OSError as exc:
            listener.close()
            raise ConfigError(
                "CONTROL_SOCKET", f"cannot create {self.path}: {exc.strerror or exc}"
            ) from None
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        listener.listen(16)
        self._inode = os.stat(self.path).st_ino
        self._listener = listener
        return self

    def start(self, engines: Any) -> ControlServer:
        """Serve the engines (formation id -> anything with ``submit`` and
        ``settings``; one engine alone stands for the first formation)."""
        if self._listener is None:
            self.bind()
        self.engines = (
            dict(engines) if isinstance(engines, Mapping) else {self.formation.id: engines}
        )
        threading.Thread(target=self._accept_loop, name="autoscalebot-control", daemon=True).start()
        return self

    def close(self) -> None:
        """Stop serving: clients see the connection end; the socket file is removed."""
        self._closing.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with contextlib.suppress(OSError):
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)  # only our own file: a newer bot's stays
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

    def __enter__(self) -> ControlServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    # ---- events out (engine thread) ----

    def sink_for(self, fid: str) -> ev.Sink:
        """The sink of formation ``fid``'s engine."""
        return lambda event: self.publish(event, fid)

    def publish(self, event: ev.Event, fid: str | None = None) -> None:
        """Record ``event`` for new clients and offer it to every client; never blocks."""
        fid = fid or self.formation.id
        data = protocol.dumps(
            {"type": "event", "formation": fid, "event": protocol.encode_event(event)}
        )
        behind: list[_Client] = []
        with self._lock:
            self._history[fid].record(event, data)
            for client in self._clients.values():
                if not client.offer(data):
                    behind.append(client)
            for client in behind:
                self._clients.pop(client.number, None)
            if isinstance(event, ev.OperatorAction) and event.ref in self._pending:
                pending = self._pending.pop(event.ref)
                pending.answer = event
                pending.done.set()
        for client in behind:
            self.dropped += 1
            log.warning("control client %d fell behind; dropped", client.number)
            client.close()

    # ---- connections ----

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                if self._closing.is_set():
                    return
                continue
            try:
                self._admit(conn)
            except Exception:  # one bad connection never ends the channel
                log.warning("control connection failed", exc_info=True)
                with contextlib.suppress(OSError):
                    conn.close()

    def _admit(self, conn: socket.socket) -> None:
        pid, uid = _peer(conn)
        if uid is not None and uid != self.allowed_uid:
            log.warning("control connection from uid %s refused (pid %s)", uid, pid)
            conn.settimeout(1.0)
            with contextlib.suppress(OSError):
                conn.sendall(
                    protocol.dumps(
                        {"type": "error", "detail": "refused: only the bot's own user may connect"}
                    )
                )
            conn.close()
            return
        # Blocking reads (a console may send nothing for hours), bounded writes:
        # a socket timeout would also end reads, so the kernel's send timeout.
        conn.settimeout(None)
        seconds = int(self.send_timeout)
        micros = int((self.send_timeout - seconds) * 1_000_000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, micros))
        client = _Client(next(self._numbers), conn, pid)
        with self._lock:
            # Hello and snapshot first, then live events: no gap, no repeat.
            for data in self._snapshot():
                client.offer(data)
            self._clients[client.number] = client
        threading.Thread(
            target=self._write_loop, args=(client,), name=f"control-w{client.number}", daemon=True
        ).start()
        threading.Thread(
            target=self._read_loop, args=(client,), name=f"control-r{client.number}", daemon=True
        ).start()

    def _snapshot(self) -> list[bytes]:
        out = [protocol.dumps(self.hello())]
        for history in self._history.values():
            out.extend(history.snapshot())
        return out

    def hello(self) -> dict[str, Any]:
        """The first message on every connection: the bot and every formation it scales."""
        return {
            "type": "hello",
            "v": protocol.VERSION,
            "pid": os.getpid(),
            "version": __version__,
            "formations": [self._describe(f) for f in self.formations.values()],
        }

    def _describe(self, f: Formation) -> dict[str, Any]:
        engine = self.engines.get(f.id)
        settings = engine.settings if engine is not None else None
        return {
            "id": f.id,
            "app": f.app,
            "process_type": f.process_type,
            "platform": f.platform,
            "config_note": f.config_note,
            # Never a secret: the secret settings stay out, and a password inside
            # another value (a URL's) is masked as everywhere else.
            "settings": _scrubbed(engine, public_settings(settings))
            if settings is not None
            else {},
            "origins": dict(settings.origins) if settings is not None else {},
        }

    def _write_loop(self, client: _Client) -> None:
        while True:
            data = client.outbox.get()
            if data is None or client.closed.is_set():
                return
            try:
                client.conn.sendall(data)
            except (TimeoutError, BlockingIOError):  # stuck for the send timeout: drop it
                self._drop(client)
                return
            except OSError:
                # Gone: no more events, but the reader still takes what it
                # sent before it left (a command, then a hang-up), then ends.
                with self._lock:
                    self._clients.pop(client.number, None)
                return

    def _read_loop(self, client: _Client) -> None:
        reader = client.conn.makefile("rb")
        try:
            while not client.closed.is_set():
                try:
                    line = reader.readline(protocol.MAX_COMMAND_LINE + 1)
                except OSError:
                    return
                if not line:
                    return
                if len(line) > protocol.MAX_COMMAND_LINE:
                    self._send(client, {"type": "error", "detail": "line too long; closing"})
                    return
                if not line.strip():
                    continue
                self._handle(client, line)
        finally:
            with contextlib.suppress(OSError):
                reader.close()
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        with self._lock:
            self._clients.pop(client.number, None)
        client.close()

    def _send(self, client: _Client, message: Mapping[str, Any]) -> None:
        if not client.offer(protocol.dumps(message)):
            self._drop(client)

    # ---- commands in (a client's reader thread) ----

    def _handle(self, client: _Client, line: bytes) -> None:
        try:
            message = protocol.loads(line)
            if message["type"] != "command":
                raise ProtocolError(f"unknown message type {message['type']!r}")
            request_id = message.get("id")
            fid = self._formation_of(message)
            name = message.get("command")
            if name == "status":
                self._send(client, self._status_reply(request_id, fid))
                return
            command = to_command(message)
        except ProtocolError as exc:
            self._send(client, {"type": "error", "id": _id(line), "detail": str(exc)})
            return
        ok, detail = self._apply(client, command, fid)
        self._send(
            client,
            {
                "type": "reply",
                "id": request_id,
                "formation": fid,
                "command": name,
                "ok": ok,
                "detail": detail,
            },
        )

    def _formation_of(self, message: Mapping[str, Any]) -> str:
        fid = message.get("formation")
        if fid is None:
            if len(self.formations) > 1:
                raise ProtocolError(
                    'this bot scales several formations: name one with "formation" '
                    f"({', '.join(list(self.formations)[:10])})"
                )
            return self.formation.id
        if fid not in self.formations or fid not in self.engines:
            raise ProtocolError(
                f"no formation {fid!r} here (this bot scales {', '.join(list(self.formations)[:10])})"
            )
        return str(fid)

    def _apply(self, client: _Client, command: Command, fid: str) -> tuple[bool, str]:
        """Submit ``command`` to formation ``fid`` and wait for its engine's answer."""
        ref = f"control.{client.number}.{next(self._requests)}"
        pending = _Pending()
        with self._lock:
            self._pending[ref] = pending
        self.engines[fid].submit(_with_ref(command, ref))
        if not pending.done.wait(self.reply_timeout):
            with self._lock:
                self._pending.pop(ref, None)
            return False, f"the bot did not answer within {self.reply_timeout:g} s"
        answer = pending.answer
        assert answer is not None
        ok, detail = answer.accepted, answer.detail
        if ok and isinstance(command, UpdateSettings) and self.saver is not None:
            try:
                _, note = self.saver(fid, command.changes)
            except Exception as exc:  # a save problem never takes the channel down
                log.warning("saving settings failed", exc_info=True)
                note = f"not saved: {type(exc).__name__}"
            detail = f"{detail}; {note}"
        return ok, detail

    def _status_reply(self, request_id: Any, fid: str) -> dict[str, Any]:
        with self._lock:
            status = self._history[fid].status_event
        f = self.formations[fid]
        return {
            "type": "reply",
            "id": request_id,
            "formation": fid,
            "command": "status",
            "ok": True,
            "detail": "status",
            "status": protocol.encode_status(status.status) if status else None,
            "formation_info": {
                "app": f.app,
                "process_type": f.process_type,
                "platform": f.platform,
            },
            "pid": os.getpid(),
        }


def to_command(message: Mapping[str, Any]) -> Command:
    """The engine command a client's message asks for; raises :class:`ProtocolError`."""
    name = message.get("command")
    if name == "pause":
        return Pause()
    if name == "resume":
        return Resume()
    if name == "scale":
        to, delta = message.get("to"), message.get("delta")
        if (to is None) == (delta is None):
            raise ProtocolError('"scale" needs exactly one of "to" or "delta"')
        for value in (to, delta):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ProtocolError(f"a dyno count is a whole number, not {value!r}")
        if to is not None and to < 0:
            raise ProtocolError(f"a dyno count is 0 or more, not {to}")
        return ForceScale(
            delta=delta or 0, to=to, override=bool(message.get("override")) and to is not None
        )
    if name == "set":
        changes = message.get("changes")
        if not isinstance(changes, dict) or not changes:
            raise ProtocolError('"set" needs "changes": {"NAME": value, ...}')
        return UpdateSettings({str(k).upper(): v for k, v in changes.items()})
    raise ProtocolError(f"unknown command {name!r}: pause, resume, scale, set or status")


def public_settings(settings: Any) -> dict[str, Any]:
    """Every setting but the secrets, as raw values ``build_settings`` takes back."""
    from autoscalebot.config.settings import SPEC
    from autoscalebot.engine.schedule import Schedule

    out: dict[str, Any] = {}
    for spec in SPEC:
        if spec.secret:
            continue
        value = settings.value(spec.name)
        out[spec.name] = value.to_raw() if isinstance(value, Schedule) else value
    return out


def _scrubbed(engine: Any, values: dict[str, Any]) -> dict[str, Any]:
    scrubber = getattr(engine, "scrubber", None)
    return scrubber.scrub(values) if scrubber is not None else values


def _with_ref(command: Command, ref: str) -> Command:
    from dataclasses import replace

    return replace(command, ref=ref)


def _id(line: bytes) -> Any:
    """The request id of a message that failed, if it can be read at all."""
    with contextlib.suppress(ProtocolError, AttributeError):
        return protocol.loads(line).get("id")
    return None


def _peer(conn: socket.socket) -> tuple[int | None, int | None]:
    """(pid, uid) of the process at the other end, where the platform tells."""
    peercred = getattr(socket, "SO_PEERCRED", None)
    if peercred is None:  # not Linux: the 0600 file in a 0700 folder is the guard
        return None, None
    raw = conn.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", raw)
    return pid, uid


def _clear_stale(path: Path) -> None:
    """Remove a socket file nobody answers on; refuse if a bot does, or if it is no socket."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(
            "CONTROL_SOCKET",
            f"{path} exists and is not a socket",
            "Remove it or choose another path.",
        )
    holder = _holder(path)
    if holder is not None:
        raise SocketInUse(
            "CONTROL_SOCKET",
            f"another bot{holder} already runs this formation and holds {path}",
            "Attach to it with 'autoscalebot-tui --attach', or stop it first "
            "(one bot per formation: two would undo each other's scaling).",
        )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _holder(path: Path) -> str | None:
    """' (pid N)' if a bot answers at ``path``, '' if something answers without a hello, else None."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(1.0)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    try:
        line = conn.makefile("rb").readline(protocol.MAX_LINE)
        pid = protocol.loads(line).get("pid")
        return f" (pid {pid})" if isinstance(pid, int) else ""
    except (OSError, ProtocolError):
        return ""
    finally:
        conn.close()

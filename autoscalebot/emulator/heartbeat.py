"""A loopback heartbeat server whose latency, status and failure mode a test controls.

It stands in for a web app's heartbeat URL (``/autoscalebot/heartbeat/`` by
default) so the real probe can be exercised over real HTTP. Besides answering
slowly or with an error status, it can misbehave the ways real servers do:

``normal``
    answer ``status`` after ``latency`` seconds.
``hang``
    accept the request and never answer (until the client gives up or the
    server stops).
``reset``
    send the headers and part of the body, then reset the connection.
``endless``
    stream a chunked body that never ends (until the client gives up or the
    server stops).
``redirect-loop``
    answer 302 pointing at itself, forever.

Every answer says ``Connection: close``, so no keep-alive handler thread
outlives a request. Control from another process: ``POST /__heartbeat__/set``
with ``{"latency": s, "status": n, "mode": m}`` (any subset), and
``GET /__heartbeat__/state``.
"""

from __future__ import annotations

import argparse
import json
import logging
import select
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from autoscalebot.emulator.server import BackgroundHTTPServer, LoopbackHTTPServer, stop_on_signals

log = logging.getLogger(__name__)

MODES = ("normal", "hang", "reset", "endless", "redirect-loop")
"""Failure modes :meth:`HeartbeatServer.set_mode` accepts."""

CONTROL_PREFIX = "/__heartbeat__/"
"""Path prefix of the control endpoints."""

DEFAULT_PATH = "/autoscalebot/heartbeat/"
"""The path autoscalebot's Django view is mounted at."""

# How often waiting handlers look for a client that hung up; short enough that
# abandoned "hang"/"endless" requests do not pile up threads in long demos.
_POLL_SECONDS = 0.05
_ENDLESS_CHUNK = b"beat " * 200


def _check_latency(latency: float) -> float:
    if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
        raise ValueError(f"latency must be a non-negative number of seconds, got {latency!r}")
    return float(latency)


def _check_status(status: int) -> int:
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError(f"status must be an HTTP status from 200 to 599, got {status!r}")
    return status


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


class _HeartbeatHandler(BaseHTTPRequestHandler):
    """Serves the heartbeat in the owner's current mode, plus the control endpoints."""

    protocol_version = "HTTP/1.1"
    server_version = "HeartbeatServer/1.0"
    sys_version = ""
    server: LoopbackHTTPServer

    # -- routing ------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._route(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(send_body=False)

    def do_POST(self) -> None:  # noqa: N802
        owner: HeartbeatServer = self.server.owner
        if self._path() != CONTROL_PREFIX + "set":
            self._plain(404 if not self._path().startswith(owner.path) else 405, True)
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            unknown = set(data) - {"latency", "status", "mode"}
            if unknown:
                raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
            # Validate everything before changing anything.
            mode = _check_mode(data["mode"]) if "mode" in data else None
            owner.set(latency=data.get("latency"), status=data.get("status"))
            if mode is not None:
                owner.set_mode(mode)
        except (ValueError, TypeError) as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, owner.state())

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _route(self, *, send_body: bool) -> None:
        owner: HeartbeatServer = self.server.owner
        path = self._path()
        if path == CONTROL_PREFIX + "state":
            self._json(200, owner.state())
        elif path == owner.path:
            self._heartbeat(owner, send_body)
        else:
            self._plain(404, send_body)

    # -- the heartbeat ------------------------------------------------------

    def _heartbeat(self, owner: HeartbeatServer, send_body: bool) -> None:
        mode, latency, status = owner._hit()
        if mode == "hang":
            self._wait(None)
            self.close_connection = True
            return
        if latency and not self._wait(latency):
            self.close_connection = True
            return
        if mode == "reset":
            self._reset()
        elif mode == "endless":
            self._endless()
        elif mode == "redirect-loop":
            self.send_response(302)
            self.send_header("Location", f"http://{self.headers.get('Host', '')}{self.path}")
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
        else:
            self._plain(status, send_body)

    def _wait(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: forever); False if the server stopped or the client left."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            step = _POLL_SECONDS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                step = min(step, left)
            if self.server.stopping.wait(step) or self._client_gone():
                return False

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            # Readable with nothing to read means the client closed its end.
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _reset(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "4096")
        self.end_headers()
        self.wfile.write(b"partial heartbeat")
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The read buffer holds a reference to the socket; drop both for a real close.
        self.rfile.close()
        self.connection.close()
        self.close_connection = True

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        frame = f"{len(_ENDLESS_CHUNK):x}\r\n".encode() + _ENDLESS_CHUNK + b"\r\n"
        # Bounded by stop() and by the client hanging up (the write then fails);
        # the terminating zero-length chunk is never sent.
        while not self.server.stopping.wait(0.01):
            try:
                self.wfile.write(frame)
            except OSError:
                break
        self.close_connection = True

    # -- plain answers ------------------------------------------------------

    def _plain(self, status: int, send_body: bool) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        body = f"{phrase}\n".encode() if status != 204 else b""
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


class HeartbeatServer(BackgroundHTTPServer):
    """A heartbeat URL on loopback with test-controlled latency, status and mode.

    >>> with HeartbeatServer(latency=0.2) as beat:           # doctest: +SKIP
    ...     httpx.get(beat.heartbeat_url).status_code
    200

    :attr:`url` is the base (``http://127.0.0.1:PORT``); :attr:`heartbeat_url`
    adds :attr:`path`. All methods are thread-safe.
    """

    handler_class = _HeartbeatHandler

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        status: int = 200,
        path: str = DEFAULT_PATH,
    ) -> None:
        """Bind to ``host:port`` (0 picks a free port); call :meth:`start` to serve."""
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        self._lock = threading.Lock()
        self._latency = _check_latency(latency)
        self._status = _check_status(status)
        self._mode = "normal"
        self._hits = 0
        self.path = path
        """The heartbeat path; other paths answer 404."""
        super().__init__(host, port)

    @property
    def heartbeat_url(self) -> str:
        """Absolute URL of the heartbeat (``url`` + ``path``)."""
        return self.url + self.path

    def start(self) -> HeartbeatServer:
        """Start serving in a daemon thread; returns self."""
        super().start()
        return self

    def __enter__(self) -> HeartbeatServer:
        return self.start()

    def set(self, *, latency: float | None = None, status: int | None = None) -> None:
        """Change the latency (seconds) and/or the status of later answers."""
        new_latency = None if latency is None else _check_latency(latency)
        new_status = None if status is None else _check_status(status)
        with self._lock:
            if new_latency is not None:
                self._latency = new_latency
            if new_status is not None:
                self._status = new_status

    def set_mode(self, mode: str) -> None:
        """Switch failure mode: one of :data:`MODES`."""
        _check_mode(mode)
        with self._lock:
            self._mode = mode

    @property
    def hits(self) -> int:
        """Requests received on the heartbeat path (every mode counts)."""
        with self._lock:
            return self._hits

    @property
    def latency(self) -> float:
        """Current latency in seconds."""
        with self._lock:
            return self._latency

    @property
    def status(self) -> int:
        """Current status of normal answers."""
        with self._lock:
            return self._status

    @property
    def mode(self) -> str:
        """Current failure mode."""
        with self._lock:
            return self._mode

    def state(self) -> dict[str, Any]:
        """Latency, status, mode and hits as a JSON-ready dict."""
        with self._lock:
            return {
                "latency": self._latency,
                "status": self._status,
                "mode": self._mode,
                "hits": self._hits,
            }

    def _hit(self) -> tuple[str, float, int]:
        with self._lock:
            self._hits += 1
            return self._mode, self._latency, self._status


def main(argv: list[str] | None = None, prog: str = "autoscalebot emulate heartbeat") -> int:
    """Run a heartbeat server until SIGTERM/SIGINT; returns the exit status.

    Prints ``heartbeat server listening on http://127.0.0.1:PORT/PATH`` once ready: the
    heartbeat URL itself, what HEARTBEAT_URL takes.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a heartbeat URL with controllable latency and status on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--status", type=int, default=200, help="status of the answers")
    parser.add_argument("--path", default=DEFAULT_PATH, help="heartbeat path")
    parser.add_argument("--mode", default="normal", choices=MODES, help="failure mode")
    parser.add_argument("--verbose", action="store_true", help="log each request line")
    args = parser.parse_args(argv)

    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    try:
        server = HeartbeatServer(
            args.host, args.port, latency=args.latency, status=args.status, path=args.path
        )
        server.set_mode(args.mode)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with stop_on_signals() as stop, server:
        print(f"heartbeat server listening on {server.heartbeat_url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Small HTTP server machinery shared by the loopback emulators.

:class:`LoopbackHTTPServer` binds only loopback (these servers trust every
caller), :class:`BackgroundHTTPServer` serves on a daemon thread with a prompt
``stop()``, and :func:`stop_on_signals` lets a ``main`` exit 0 on SIGTERM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, ClassVar

log = logging.getLogger(__name__)


def _require_loopback(host: str) -> None:
    """Refuse to bind anything but loopback: these servers trust every caller."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a loopback address, got {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"host must be a loopback address, got {host!r}")


# ---------------------------------------------------------------------------
# Shared server machinery
# ---------------------------------------------------------------------------


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to loopback that stops promptly.

    Unlike the stdlib server it remembers its open connections and handler
    threads, so :meth:`close` can cut idle keep-alive connections and wait for
    the handlers to finish instead of leaving threads behind. Handlers that
    wait (latency, "hang") wait on :attr:`stopping`, which :meth:`close` sets.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, host: str, port: int, handler_class: type[BaseHTTPRequestHandler], owner: Any
    ) -> None:
        _require_loopback(host)
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.owner = owner
        """The object whose state the handlers serve (emulator or heartbeat server)."""
        self.stopping = threading.Event()
        """Set when the server is closing; waiting handlers wake up and give up."""
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        super().__init__((host, port), handler_class)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup
        # that can stall for seconds on machines without DNS; loopback needs none.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for)."""
        return int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
        # plus delayed ACKs add ~40 ms to every keep-alive answer.
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"{type(self.owner).__name__}-handler",
            daemon=True,
        )
        with self._conn_lock:
            self._connections.add(request)
            self._handler_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._conn_lock:
                self._connections.discard(request)
                self._handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is routine here (timeouts, resets under
        # test), so keep tracebacks out of test output.
        log.debug("error while serving %s", client_address, exc_info=True)

    def close(self, timeout: float = 2.0) -> None:
        """Cut every open connection, close the socket and wait for handlers.

        Call :meth:`shutdown` first if :meth:`serve_forever` is running.
        """
        self.stopping.set()
        with self._conn_lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:
            # shutdown() (not close()) wakes a handler blocked reading the next
            # keep-alive request; the handler closes the socket itself.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class BackgroundHTTPServer:
    """Lifecycle shared by the loopback servers: bind now, serve in a daemon thread.

    The socket is bound in ``__init__`` so :attr:`url` is known before
    :meth:`start` (a test can hand it to other fixtures first). A server is
    used once: :meth:`start`, then :meth:`stop`.
    """

    handler_class: ClassVar[type[BaseHTTPRequestHandler]]

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = LoopbackHTTPServer(host, port, self.handler_class, self)
        self._thread: threading.Thread | None = None
        self._stopped = False
        bracketed = f"[{host}]" if ":" in host else host
        self.url = f"http://{bracketed}:{self._httpd.port}"
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self._httpd.port

    @property
    def stopping(self) -> threading.Event:
        """Set once :meth:`stop` has begun."""
        return self._httpd.stopping

    def start(self) -> BackgroundHTTPServer:
        """Start serving in a daemon thread; returns self."""
        if self._thread is not None or self._stopped:
            raise RuntimeError("server already started (servers are single-use)")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            # A short poll interval keeps stop() prompt.
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-serve",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake waiting handlers and close all connections (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(2.0)
        self._httpd.close()

    def __enter__(self) -> BackgroundHTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Within the block, SIGTERM and SIGINT set the yielded event instead of killing us.

    Used by the ``main`` functions. Enter it before announcing readiness, so a
    signal sent right after the announcement cannot hit the default handler.
    Off the main thread (where handlers cannot be installed) the event is
    simply never set by signals.
    """
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

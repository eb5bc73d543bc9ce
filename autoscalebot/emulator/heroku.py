"""A Heroku Platform API (v3) emulator served over real HTTP on loopback.

The emulator follows the official schema (``platform-api-schema.json``) and
Heroku's documented conventions closely enough that the project's real Heroku
client can be tested, and demoed, against it:

* every answer carries ``Request-Id`` (a fresh UUID), ``RateLimit-Remaining``
  and ``Content-Type: application/json``;
* requests need ``Accept: application/vnd.heroku+json; version=3``
  (``406 not_acceptable`` otherwise) and ``Authorization: Bearer <key>``
  (``401 unauthorized`` otherwise; HTTP Basic with the key as password works
  too, as on Heroku);
* errors are JSON objects ``{"id": ..., "message": ...}`` with Heroku's ids;
* a token bucket of 4500 requests regained at 75 per minute, ``429 rate_limit``
  when empty;
* apps with Eco or Basic dynos refuse more than one dyno per process type.

Implemented endpoints: ``GET /account``, ``GET /account/rate-limits``,
``GET /apps``, ``GET /apps/{app}``, ``GET /apps/{app}/formation``,
``PATCH /apps/{app}/formation`` (batch), ``GET`` and ``PATCH``
``/apps/{app}/formation/{type}``, ``GET`` and ``DELETE`` (restart)
``/apps/{app}/dynos`` and ``/apps/{app}/dynos/{dyno}``, ``GET`` and ``PATCH``
``/apps/{app}/config-vars``. Anything else answers Heroku's 404.

Conventions of every endpoint:

* ``HEAD`` answers what ``GET`` would, without the body;
* ``GET`` answers carry an ``ETag``; ``If-None-Match`` with it answers
  ``304 Not Modified`` (no body);
* lists honour ``Range`` as the Platform API does: ``Range: id ..; max=10;``
  (also ``name``, or ``type`` for formations; ``order=desc``; ``]start..``
  excludes the start), 200 pages by default and at most 1000, ``206 Partial
  Content`` plus ``Next-Range`` while more remain, ``Content-Range`` naming
  the first and last value returned, ``416`` for a Range it cannot serve.

Dynos follow the formation: ``{type}.{n}`` for n = 1..quantity, sized and
typed as their formation, ``starting`` for ``boot_seconds`` after they (re)start
and ``up`` after, ``crashed`` when :meth:`HerokuEmulator.crash_dyno` says so
(until restarted). Scaling up starts the new dynos only; resizing a process
type, changing config vars and the restart endpoints restart dynos.

Tests drive it in-process through :class:`HerokuEmulator`; subprocess tests
use the unauthenticated control surface under ``/__emulator__/`` (see
:meth:`HerokuEmulator._handle_control`). The API key is never logged and never
stored in the request records.

"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from autoscalebot.emulator.server import BackgroundHTTPServer, LoopbackHTTPServer, stop_on_signals

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "emulator-key"
"""API key the emulator accepts when none is given."""

CONTROL_PREFIX = "/__emulator__/"
"""Path prefix of the unauthenticated control surface."""

DYNO_SIZES: tuple[str, ...] = (
    "Eco",
    "Basic",
    "Standard-1X",
    "Standard-2X",
    "Performance-M",
    "Performance-L",
    "Performance-L-RAM",
    "Performance-XL",
    "Performance-2XL",
    "Private-S",
    "Private-M",
    "Private-L",
    "Private-L-RAM",
    "Private-XL",
    "Private-2XL",
    "Shield-S",
    "Shield-M",
    "Shield-L",
    "Shield-L-RAM",
    "Shield-XL",
    "Shield-2XL",
)
"""Dyno size names the emulator knows (Heroku matches them case-insensitively)."""

SINGLE_DYNO_SIZES = frozenset({"Eco", "Basic"})
"""Sizes Heroku runs at most one of per process type."""

ERROR_IDS: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    402: "delinquent",
    403: "forbidden",
    404: "not_found",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    416: "requested_range_not_satisfiable",
    422: "invalid_params",
    429: "rate_limit",
    500: "internal_server_error",
    503: "service_unavailable",
}
"""Heroku's documented error id for each status (Platform API reference, "Errors")."""

_DEFAULT_MESSAGES: Mapping[str, str] = {
    "bad_request": "Request invalid, validate usage and try again.",
    "unauthorized": "Invalid credentials provided.",
    "delinquent": "This account is delinquent.",
    "forbidden": "You do not have access to this resource.",
    "not_found": "Couldn't find that resource.",
    "not_acceptable": (
        "Please specify a version along with Heroku's API MIME type. "
        "For example, `Accept: application/vnd.heroku+json; version=3`."
    ),
    "conflict": "Request failed, see response body for suggested resolution.",
    "gone": "This resource can no longer be found at this location.",
    "requested_range_not_satisfiable": "Requested range not satisfiable.",
    "invalid_params": "Request failed, validate parameters and try again.",
    "rate_limit": (
        "Your account reached the API rate limit. "
        "Please wait a few minutes before making new requests."
    ),
    "internal_server_error": "Internal server error.",
    "service_unavailable": "API is temporarily unavailable. Please try again later.",
}

_ROUTE_NOT_FOUND = (
    "The requested API endpoint was not found. Are you using the right HTTP verb "
    "(i.e. `GET` vs. `POST`), and did you specify your API version?"
)

# Patterns from the schema: definitions.app.definitions.name and
# definitions.formation.definitions.type.
_APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
_PROCESS_TYPE_RE = re.compile(r"^[-\w]{1,128}$")
_CONFIG_KEY_RE = re.compile(r"^\w+$")
_ACCEPT_RE = re.compile(r"application/vnd\.heroku\+json\s*;\s*version=3\b", re.IGNORECASE)

# Ids are derived from names so that every run shows the same ids (stable test output).
_ID_NAMESPACE = uuid.UUID("5b0f2d4e-9a61-4c3e-8f5d-2f6b1c7a9e01")
_MAX_BODY_BYTES = 1 << 20
_REDACTED = "[REDACTED]"


def _stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}"))


def _timestamp(moment: datetime | None = None) -> str:
    """``moment`` (default now) in the schema's date-time format (``2012-01-01T12:00:00Z``)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_size(name: str) -> str | None:
    """Return the canonical spelling of dyno size ``name``, or None if unknown."""
    wanted = name.strip().lower()
    for size in DYNO_SIZES:
        if size.lower() == wanted:
            return size
    return None


# ---------------------------------------------------------------------------
# Emulator state
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class RecordedRequest:
    """One Platform API request as the emulator received it, secrets redacted.

    ``Authorization`` keeps only its scheme (``"Bearer [REDACTED]"``) and the
    API key is scrubbed from every other header and from the body.
    """

    method: str
    """HTTP method, upper case."""
    path: str
    """Path including any query string."""
    headers: dict[str, str]
    """Request headers as sent (names as the client spelled them)."""
    json: Any
    """Parsed JSON body, or None when the body was empty or not JSON."""
    body: str
    """Raw body text (scrubbed), for requests whose body was not JSON."""
    request_id: str
    """The ``Request-Id`` the emulator answered with."""
    app: str | None = None
    """Name of the app the path addresses (or the raw identifier if unknown)."""
    status: int | None = None
    """Status answered, None while the answer is still pending."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of this record."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class _Dyno:
    number: int
    generation: int  # restarts so far; a restarted dyno is a new process with a new id
    started: float  # emulator clock when it (re)started
    started_at: datetime  # wall time of the same moment
    boot: float  # seconds it is "starting" for
    crashed_at: datetime | None = None


@dataclasses.dataclass
class _Formation:
    id: str
    type: str
    quantity: int
    size: str
    command: str
    created_at: str
    updated_at: str
    dynos: dict[int, _Dyno] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _App:
    id: str
    name: str
    web_url: str
    created_at: str
    updated_at: str
    formation: dict[str, _Formation]
    config_vars: dict[str, str] = dataclasses.field(default_factory=dict)
    release: int = 1


@dataclasses.dataclass
class _Fault:
    status: int
    error_id: str | None
    message: str | None
    times: int
    method: str | None
    path_contains: str | None
    delay: float
    body: bytes | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path_contains is None or self.path_contains in path


@dataclasses.dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]
    delay: float = 0.0


class _TokenBucket:
    """Heroku's request tokens: a full bucket, one token per request, steady regain.

    Not thread-safe; the emulator calls it under its lock.
    """

    def __init__(self, capacity: int, regain_per_minute: float, clock: Callable[[], float]):
        if capacity < 0 or regain_per_minute < 0:
            raise ValueError("rate_limit and regain_per_minute must be >= 0")
        self.capacity = capacity
        self._per_second = regain_per_minute / 60.0
        self._clock = clock
        self._tokens = float(capacity)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        if self._per_second and self._tokens < self.capacity:
            self._tokens = min(float(self.capacity), self._tokens + elapsed * self._per_second)

    def remaining(self) -> int:
        self._refill()
        return int(self._tokens)

    def take(self) -> bool:
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def set_remaining(self, n: int) -> None:
        self._refill()
        self._tokens = float(n)


class _HerokuHandler(BaseHTTPRequestHandler):
    """HTTP plumbing only; every decision is made by :class:`HerokuEmulator`."""

    # Heroku speaks HTTP/1.1 with keep-alive; so do we (every answer has a length).
    protocol_version = "HTTP/1.1"
    server_version = "HerokuEmulator/1.0"
    sys_version = ""
    server: LoopbackHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._dispatch()

    do_HEAD = do_PATCH = do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

    def _dispatch(self) -> None:
        emulator: HerokuEmulator = self.server.owner
        length = self._content_length()
        if length is None:
            self.close_connection = True
            problem = _error("bad_request", "Request needs a valid Content-Length under 1 MiB.")
            self._write(_json_response(400, problem, {"Request-Id": str(uuid.uuid4())}))
            return
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        if urlsplit(self.path).path.startswith(CONTROL_PREFIX):
            response = emulator._handle_control(self.command, self.path, body)
        else:
            response = emulator._handle_api(self.command, self.path, headers, body)
        if response.delay > 0 and self.server.stopping.wait(response.delay):
            # Stopping: abandon the answer rather than hold stop() up.
            self.close_connection = True
            return
        self._write(response)

    def _content_length(self) -> int | None:
        """Body length, or None when it cannot be read safely."""
        if self.headers.get("Transfer-Encoding"):
            # No client we test sends chunked requests; refuse rather than misparse.
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return length if 0 <= length <= _MAX_BODY_BYTES else None

    def _write(self, response: _Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != 304:
                # HEAD: the length GET would have sent, and no body.
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD" and response.status != 304:
                self.wfile.write(response.body)
        except OSError:
            # The client gave up (timeout) before the answer was ready.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Request lines carry no secrets, but keep them at debug level: quiet tests.
        log.debug("%s - %s", self.address_string(), format % args)


def _error(error_id: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Heroku error body."""
    payload: dict[str, Any] = {"id": error_id, "message": message or _DEFAULT_MESSAGES[error_id]}
    payload.update(extra)
    return payload


def _json_response(status: int, payload: Any, headers: dict[str, str]) -> _Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _Response(status, body, {"Content-Type": "application/json", **headers})


class _ApiError(Exception):
    """Raised inside request handling to answer with a Heroku error."""

    def __init__(self, status: int, error_id: str, message: str | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.payload = _error(error_id, message, **extra)


_MISSING = object()


# ---------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------


class HerokuEmulator(BackgroundHTTPServer):
    """An in-process Heroku Platform API v3 on loopback.

    >>> with HerokuEmulator() as heroku:                      # doctest: +SKIP
    ...     heroku.add_app("example", formation={"web": 2})
    ...     client = httpx.Client(base_url=heroku.url, headers={
    ...         "Accept": "application/vnd.heroku+json; version=3",
    ...         "Authorization": "Bearer emulator-key"})
    ...     client.patch("/apps/example/formation/web", json={"quantity": 3})
    ...     assert heroku.quantity("example") == 3

    All public methods are thread-safe.
    """

    handler_class = _HerokuHandler

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = DEFAULT_API_KEY,
        rate_limit: int = 4500,
        regain_per_minute: float = 75,
        boot_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bind to ``host:port`` (port 0 picks a free one); call :meth:`start` to serve.

        ``rate_limit`` is the token bucket size, ``regain_per_minute`` its
        refill rate (0 disables regain), ``boot_seconds`` how long a dyno is
        ``starting`` before it is ``up``, ``clock`` the monotonic clock the
        regain and the boots are measured with (inject a fake one in tests).
        """
        if not api_key:
            raise ValueError("api_key must not be empty")
        _check_seconds(boot_seconds, "boot_seconds")
        self._api_key = api_key
        self._clock = clock
        self._boot_seconds = float(boot_seconds)
        self._lock = threading.Lock()
        self._apps: dict[str, _App] = {}
        self._faults: list[_Fault] = []
        self._latency = 0.0
        self._bucket = _TokenBucket(rate_limit, regain_per_minute, clock)
        self._requests: list[RecordedRequest] = []
        self._account_created = _timestamp()
        super().__init__(host, port)

    def __repr__(self) -> str:
        # Deliberately without the API key.
        return f"<HerokuEmulator {self.url} apps={sorted(self._apps)}>"

    def start(self) -> HerokuEmulator:
        """Start serving in a daemon thread; returns self."""
        super().start()
        return self

    def __enter__(self) -> HerokuEmulator:
        return self.start()

    # -- set-up and inspection (Python API) ---------------------------------

    def add_app(
        self,
        name: str,
        *,
        web_url: str | None = None,
        formation: Mapping[str, int] | None = None,
        size: str = "Standard-1X",
        config_vars: Mapping[str, str] | None = None,
    ) -> None:
        """Create app ``name`` with the given process types and dyno size.

        ``formation`` maps process type to quantity (default ``{"web": 1}``);
        its dynos are booting (see ``boot_seconds``) from now on.
        ``config_vars`` are the app's config vars (default none).
        ``web_url`` defaults to a Heroku-style ``https://{name}-{hash}.herokuapp.com/``,
        which the schema's pattern accepts; point it at a loopback heartbeat
        server for end-to-end tests (the schema's herokuapp.com pattern then
        no longer matches, which clients must not care about).
        """
        if not _APP_NAME_RE.match(name):
            raise ValueError(f"invalid app name {name!r}: must match {_APP_NAME_RE.pattern}")
        canonical = canonical_size(size)
        if canonical is None:
            raise ValueError(f"unknown dyno size {size!r}; known: {', '.join(DYNO_SIZES)}")
        formation = {"web": 1} if formation is None else dict(formation)
        for process_type, quantity in formation.items():
            if not _PROCESS_TYPE_RE.match(process_type):
                raise ValueError(f"invalid process type {process_type!r}")
            _check_quantity(quantity)
        config = dict(config_vars or {})
        for key, value in config.items():
            if not _CONFIG_KEY_RE.fullmatch(key) or not isinstance(value, str):
                raise ValueError(f"invalid config var {key!r}: names are \\w+, values strings")
        if web_url is None:
            # Heroku's current default domains: "<name>-<12 hex>.herokuapp.com".
            suffix = hashlib.sha256(name.encode()).hexdigest()[:12]
            web_url = f"https://{name}-{suffix}.herokuapp.com/"
        now = _timestamp()
        app = _App(
            id=_stable_id("app", name),
            name=name,
            web_url=web_url,
            created_at=now,
            updated_at=now,
            formation={
                process_type: _Formation(
                    id=_stable_id("formation", f"{name}/{process_type}"),
                    type=process_type,
                    quantity=quantity,
                    size=canonical,
                    command=_default_command(process_type),
                    created_at=now,
                    updated_at=now,
                )
                for process_type, quantity in formation.items()
            },
            config_vars=config,
        )
        with self._lock:
            if name in self._apps:
                raise ValueError(f"app {name!r} already exists")
            self._apps[name] = app
            for process in app.formation.values():
                self._sync_dynos(process)

    def quantity(self, app: str, process_type: str = "web") -> int:
        """Current dyno count of ``process_type`` of ``app`` (KeyError if unknown)."""
        with self._lock:
            return self._formation(app, process_type).quantity

    def set_quantity(self, app: str, process_type: str, n: int) -> None:
        """Change a dyno count behind the client's back ("someone scaled by hand").

        Bypasses validation other than ``n >= 0``; KeyError for an unknown app
        or process type.
        """
        _check_quantity(n)
        with self._lock:
            formation = self._formation(app, process_type)
            formation.quantity = n
            formation.updated_at = _timestamp()
            self._sync_dynos(formation)

    def dyno_states(self, app: str, process_type: str | None = None) -> dict[str, str]:
        """``{dyno name: state}`` of ``app`` now (of ``process_type`` only, if given)."""
        with self._lock:
            if app not in self._apps:
                raise KeyError(f"no app {app!r}")
            return {
                f"{formation.type}.{number}": self._dyno_state(dyno)
                for formation in self._apps[app].formation.values()
                if process_type in (None, formation.type)
                for number, dyno in sorted(formation.dynos.items())
            }

    def crash_dyno(self, app: str, dyno: str) -> None:
        """Crash dyno ``dyno`` (``"web.2"``) of ``app``: ``crashed`` until restarted.

        (Heroku restarts crashed dynos by itself after a cool-off; the
        emulator waits for a restart request or a resize, so tests decide.)
        """
        with self._lock:
            if app not in self._apps:
                raise KeyError(f"no app {app!r}")
            found = self._find_dyno(self._apps[app], dyno)
            if found is None:
                raise KeyError(f"no dyno {dyno!r} on app {app!r}")
            formation, number = found
            formation.dynos[number].crashed_at = datetime.now(UTC)

    def set_boot_seconds(self, seconds: float) -> None:
        """Dynos (re)started from now on are ``starting`` for ``seconds``."""
        _check_seconds(seconds, "boot_seconds")
        with self._lock:
            self._boot_seconds = float(seconds)

    def config_vars(self, app: str) -> dict[str, str]:
        """A copy of ``app``'s config vars (KeyError if unknown)."""
        with self._lock:
            if app not in self._apps:
                raise KeyError(f"no app {app!r}")
            return dict(self._apps[app].config_vars)

    def inject_fault(
        self,
        *,
        status: int,
        error_id: str | None = None,
        message: str | None = None,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        delay: float = 0.0,
        body: bytes | None = None,
    ) -> None:
        """Make the next ``times`` matching API requests fail.

        A request matches when ``method`` (if given) equals its method and
        ``path_contains`` (if given) is a substring of its path. The answer is
        ``status`` with a Heroku error body (``error_id`` defaults to Heroku's
        id for the status, ``message`` to a generic text), or exactly ``body``
        when given (e.g. malformed JSON; then any status, even 200, is
        allowed). ``delay`` seconds pass before answering (on top of
        :meth:`set_latency`). Faults are checked in the order injected, before
        authentication, and do not consume rate-limit tokens.
        """
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {status!r}")
        if status < 400 and body is None:
            raise ValueError("a fault with a non-error status needs an explicit body")
        if not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        fault = _Fault(
            status=status,
            error_id=error_id,
            message=message,
            times=times,
            method=method.upper() if method else None,
            path_contains=path_contains,
            delay=float(delay),
            body=body,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Drop every pending injected fault."""
        with self._lock:
            self._faults.clear()

    def set_latency(self, seconds: float) -> None:
        """Delay every API answer by ``seconds`` (0 to stop)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = float(seconds)

    def set_rate_limit_remaining(self, n: int) -> None:
        """Set the request tokens left; 0 makes requests fail with 429 until regained."""
        if not isinstance(n, int) or n < 0:
            raise ValueError("remaining must be a non-negative integer")
        with self._lock:
            self._bucket.set_remaining(n)

    def rate_limit_remaining(self) -> int:
        """Request tokens currently left."""
        with self._lock:
            return self._bucket.remaining()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of the API requests received so far (control requests excluded)."""
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def patches(self, app: str | None = None) -> list[dict[str, Any]]:
        """Bodies of successful formation PATCH requests (for ``app`` if given), in order.

        Single-type PATCHes give ``{"quantity": n, ...}``; batch PATCHes give
        ``{"updates": [...]}``, exactly as the client sent them.
        """
        with self._lock:
            return [
                record.json
                for record in self._requests
                if record.method == "PATCH"
                and record.status is not None
                and 200 <= record.status < 300
                and _is_formation_path(urlsplit(record.path).path)
                and (app is None or record.app == app)
            ]

    # -- internals (called with or taking self._lock) -----------------------

    def _start_dyno(self, number: int, generation: int = 0) -> _Dyno:
        return _Dyno(
            number=number,
            generation=generation,
            started=self._clock(),
            started_at=datetime.now(UTC),
            boot=self._boot_seconds,
        )

    def _sync_dynos(self, formation: _Formation) -> None:
        """Start or stop dynos so that ``formation.dynos`` numbers 1..quantity."""
        for number in [n for n in formation.dynos if n > formation.quantity]:
            del formation.dynos[number]
        for number in range(1, formation.quantity + 1):
            if number not in formation.dynos:
                formation.dynos[number] = self._start_dyno(number)

    def _restart(self, formation: _Formation, number: int | None = None) -> None:
        """Restart one dyno (or every dyno) of ``formation``: new process, booting again."""
        for n, dyno in list(formation.dynos.items()):
            if number in (None, n):
                formation.dynos[n] = self._start_dyno(n, dyno.generation + 1)

    def _dyno_state(self, dyno: _Dyno) -> str:
        if dyno.crashed_at is not None:
            return "crashed"
        return "up" if self._clock() - dyno.started >= dyno.boot else "starting"

    def _find_dyno(self, app: _App, ident: str) -> tuple[_Formation, int] | None:
        """The formation and number of dyno ``ident`` (a name like ``web.1``, or an id)."""
        for formation in app.formation.values():
            for number, dyno in formation.dynos.items():
                name = f"{formation.type}.{number}"
                if ident in (name, self._dyno_id(app, name, dyno)):
                    return formation, number
        return None

    @staticmethod
    def _dyno_id(app: _App, name: str, dyno: _Dyno) -> str:
        return _stable_id("dyno", f"{app.name}/{name}/{dyno.generation}")

    def _formation(self, app: str, process_type: str) -> _Formation:
        try:
            return self._apps[app].formation[process_type]
        except KeyError:
            raise KeyError(f"no process type {process_type!r} on app {app!r}") from None

    def _find_app(self, ident: str) -> _App | None:
        app = self._apps.get(ident)
        if app is not None:
            return app
        return next((a for a in self._apps.values() if a.id == ident), None)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED)

    def _scrub_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, list):
            return [self._scrub_json(item) for item in value]
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub_json(v) for k, v in value.items()}
        return value

    def _redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        redacted = {}
        for name, value in headers.items():
            if name.lower() == "authorization":
                scheme = value.split(" ", 1)[0] if " " in value else ""
                redacted[name] = f"{scheme} {_REDACTED}".strip()
            else:
                redacted[name] = self._scrub(value)
        return redacted

    def _authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            return hmac.compare_digest(credentials.encode(), self._api_key.encode())
        if scheme.lower() == "basic":
            # Heroku also takes Basic auth as "{email}:{api key}" (or ":{api key}").
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            password = decoded.partition(":")[2]
            return hmac.compare_digest(password.encode(), self._api_key.encode())
        return False

    def _handle_api(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Response:
        """Answer one Platform API request (called by the handler thread)."""
        request_id = str(uuid.uuid4())
        path = urlsplit(raw_path).path
        text = body.decode("utf-8", errors="replace")
        parsed: Any = None
        body_is_json = True
        if body.strip():
            try:
                parsed = json.loads(text)
            except ValueError:
                body_is_json = False
        record = RecordedRequest(
            method=method,
            path=self._scrub(raw_path),
            headers=self._redact_headers(headers),
            json=self._scrub_json(parsed),
            body=self._scrub(text),
            request_id=request_id,
        )
        lowered = {name.lower(): value for name, value in headers.items()}
        with self._lock:
            record.app = self._app_name_from_path(path)
            self._requests.append(record)
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            delay = self._latency
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                delay += fault.delay
                response = self._fault_response(fault)
            else:
                extra: dict[str, str] = {}
                try:
                    status, payload, extra = self._serve(
                        method, path, lowered, parsed, body_is_json
                    )
                except _ApiError as exc:
                    status, payload = exc.status, exc.payload
                remaining = 0 if status == 429 else self._bucket.remaining()
                response = _json_response(
                    status, payload, {"RateLimit-Remaining": str(remaining), **extra}
                )
                if method in ("GET", "HEAD") and status in (200, 206):
                    response = _conditional(response, lowered.get("if-none-match"))
            response.headers["Request-Id"] = request_id
            response.delay = delay
            record.status = response.status
        log.debug("%s %s -> %s", method, record.path, response.status)
        return response

    def _fault_response(self, fault: _Fault) -> _Response:
        remaining = 0 if fault.status == 429 else self._bucket.remaining()
        headers = {"RateLimit-Remaining": str(remaining)}
        if fault.body is not None:
            headers["Content-Type"] = "application/json"
            return _Response(fault.status, fault.body, headers)
        error_id = fault.error_id or ERROR_IDS.get(
            fault.status, "internal_server_error" if fault.status >= 500 else "bad_request"
        )
        message = fault.message or _DEFAULT_MESSAGES.get(error_id, "Injected failure.")
        return _json_response(fault.status, _error(error_id, message), headers)

    def _app_name_from_path(self, path: str) -> str | None:
        parts = _segments(path)
        if len(parts) >= 2 and parts[0] == "apps":
            app = self._find_app(parts[1])
            return app.name if app is not None else parts[1]
        return None

    def _serve(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        data: Any,
        body_is_json: bool,
    ) -> tuple[int, Any, dict[str, str]]:
        """Route one request; returns (status, JSON payload, headers). Caller holds the lock."""
        if not _ACCEPT_RE.search(headers.get("accept", "")):
            raise _ApiError(406, "not_acceptable")
        if not self._authorized(headers.get("authorization")):
            raise _ApiError(401, "unauthorized")
        parts = _segments(path)
        if method == "HEAD":
            method = "GET"  # the same answer; the handler leaves the body out
        if method == "GET" and parts == ["account", "rate-limits"]:
            # Documented as not counting towards the rate limit.
            return 200, {"remaining": self._bucket.remaining()}, {}
        if not self._bucket.take():
            raise _ApiError(429, "rate_limit")
        if not body_is_json:
            raise _ApiError(400, "bad_request", "Invalid JSON in request body.")
        wanted_range = headers.get("range")

        if method == "GET" and parts == ["account"]:
            return 200, self._account_json(), {}
        if method == "GET" and parts == ["apps"]:
            apps = [self._app_json(app) for app in self._apps.values()]
            return _paginate(apps, wanted_range, ("id", "name"))
        if len(parts) >= 2 and parts[0] == "apps":
            app = self._find_app(parts[1])
            route = (method, len(parts), parts[2] if len(parts) > 2 else None)
            if route not in _APP_ROUTES:
                raise _ApiError(404, "not_found", _ROUTE_NOT_FOUND)
            if app is None:
                raise _ApiError(404, "not_found", "Couldn't find that app.", resource="app")
            if len(parts) == 2:
                return 200, self._app_json(app), {}
            if parts[2] == "dynos":
                return self._serve_dynos(
                    method, app, parts[3] if len(parts) == 4 else None, wanted_range
                )
            if parts[2] == "config-vars":
                if method == "PATCH":
                    self._update_config(app, data)
                return 200, dict(app.config_vars), {}
            if len(parts) == 3 and method == "GET":
                formations = [self._formation_json(app, f) for f in app.formation.values()]
                return _paginate(formations, wanted_range, ("id", "type"))
            if len(parts) == 3:
                return 200, self._batch_update(app, data), {}
            formation = self._find_formation(app, parts[3])
            if method == "GET":
                return 200, self._formation_json(app, formation), {}
            if not isinstance(data, dict):
                raise _ApiError(400, "bad_request", "Request body must be a JSON object.")
            changes = self._validate_update(formation, data)
            self._apply(app, formation, *changes)
            return 200, self._formation_json(app, formation), {}
        raise _ApiError(404, "not_found", _ROUTE_NOT_FOUND)

    def _serve_dynos(
        self, method: str, app: _App, ident: str | None, wanted_range: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        """``GET`` lists or reads dynos; ``DELETE`` restarts one or all (answers ``{}``)."""
        if ident is None:
            if method == "DELETE":
                for formation in app.formation.values():
                    self._restart(formation)
                return 202, {}, {}
            dynos = [
                self._dyno_json(app, formation, dyno)
                for formation in app.formation.values()
                for dyno in formation.dynos.values()
            ]
            return _paginate(dynos, wanted_range, ("id", "name"))
        found = self._find_dyno(app, ident)
        if found is None:
            raise _ApiError(404, "not_found", "Couldn't find that dyno.", resource="dyno")
        formation, number = found
        if method == "DELETE":
            self._restart(formation, number)
            return 202, {}, {}
        return 200, self._dyno_json(app, formation, formation.dynos[number]), {}

    def _update_config(self, app: _App, data: Any) -> None:
        """Set (or with null, unset) config vars; a new release restarts every dyno."""
        if not isinstance(data, dict):
            raise _ApiError(422, "invalid_params", "Config vars must be a JSON object.")
        for key, value in data.items():
            if not _CONFIG_KEY_RE.fullmatch(key) or not (value is None or isinstance(value, str)):
                raise _ApiError(
                    422,
                    "invalid_params",
                    "Config var names must be letters, digits and underscores, "
                    "and values strings (or null to unset).",
                )
        if not data:
            return
        for key, value in data.items():
            if value is None:
                app.config_vars.pop(key, None)
            else:
                app.config_vars[key] = value
        app.release += 1
        app.updated_at = _timestamp()
        for formation in app.formation.values():
            self._restart(formation)

    def _find_formation(self, app: _App, ident: str) -> _Formation:
        formation = app.formation.get(ident) or next(
            (f for f in app.formation.values() if f.id == ident), None
        )
        if formation is None:
            raise _ApiError(404, "not_found", "Couldn't find that formation.", resource="formation")
        return formation

    def _validate_update(self, formation: _Formation, data: Mapping[str, Any]) -> tuple[int, str]:
        """Check one update against Heroku's rules; returns (new quantity, new size)."""
        quantity = formation.quantity
        if "quantity" in data:
            quantity = data["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                raise _ApiError(
                    422,
                    "invalid_params",
                    f"Invalid quantity {quantity!r}: must be a non-negative integer.",
                )
        size = formation.size
        requested = data.get("dyno_size", data.get("size", _MISSING))
        if requested is not _MISSING:
            if isinstance(requested, dict):
                requested = requested.get("name") or _size_name_from_id(requested.get("id"))
            canonical = canonical_size(requested) if isinstance(requested, str) else None
            if canonical is None:
                raise _ApiError(
                    422,
                    "invalid_params",
                    f"No such size as {requested}. "
                    f"Available dyno sizes are {', '.join(DYNO_SIZES)}.",
                )
            size = canonical
        if size in SINGLE_DYNO_SIZES and quantity > 1:
            raise _ApiError(
                422,
                "invalid_params",
                f"Cannot update to more than 1 {size} size dynos per process type.",
            )
        return quantity, size

    def _batch_update(self, app: _App, data: Any) -> list[dict[str, Any]]:
        updates = data.get("updates") if isinstance(data, dict) else None
        if not isinstance(updates, list):
            raise _ApiError(422, "invalid_params", "Missing required params: updates.")
        # Validate every update before applying any, so a batch is all or nothing.
        planned: list[tuple[_Formation, int, str]] = []
        for update in updates:
            if not isinstance(update, dict) or not isinstance(update.get("type"), str):
                raise _ApiError(422, "invalid_params", 'Each update must have a "type".')
            # The schema forbids other keys; "size" stays allowed because the
            # Heroku CLI still sends the deprecated name.
            unknown = set(update) - {"type", "quantity", "dyno_size", "size"}
            if unknown:
                raise _ApiError(
                    422, "invalid_params", f"Unknown update params: {', '.join(sorted(unknown))}."
                )
            formation = self._find_formation(app, update["type"])
            planned.append((formation, *self._validate_update(formation, update)))
        for formation, quantity, size in planned:
            self._apply(app, formation, quantity, size)
        return [self._formation_json(app, formation) for formation, _, _ in planned]

    def _apply(self, app: _App, formation: _Formation, quantity: int, size: str) -> None:
        now = _timestamp()
        resized = size != formation.size
        formation.quantity = quantity
        formation.size = size
        formation.updated_at = now
        app.updated_at = now
        self._sync_dynos(formation)
        if resized:
            self._restart(formation)

    def _account_json(self) -> dict[str, Any]:
        """The account object: every property of definitions.account (strictProperties)."""
        return {
            "allow_tracking": True,
            "beta": False,
            "created_at": self._account_created,
            "email": "emulator@example.com",
            "federated": False,
            "id": _stable_id("account", "emulator"),
            "identity_provider": None,
            "last_login": self._account_created,
            "name": "Heroku Emulator",
            "sms_number": None,
            "suspended_at": None,
            "delinquent_at": None,
            "two_factor_authentication": False,
            "updated_at": self._account_created,
            "verified": True,
            "country_of_residence": None,
            "default_organization": None,
            "default_team": None,
        }

    def _app_json(self, app: _App) -> dict[str, Any]:
        """The app object: every property of definitions.app (strictProperties)."""
        stack = {"id": _stable_id("stack", "heroku-24"), "name": "heroku-24"}
        return {
            "acm": False,
            "archived_at": None,
            "buildpack_provided_description": "Python",
            "build_stack": dict(stack),
            "created_at": app.created_at,
            "generation": {"id": _stable_id("generation", "cedar"), "name": "cedar"},
            "git_url": f"https://git.heroku.com/{app.name}.git",
            "id": app.id,
            "internal_routing": None,
            "maintenance": False,
            "name": app.name,
            "owner": {"email": "emulator@example.com", "id": _stable_id("account", "emulator")},
            "organization": None,
            "team": None,
            "region": {"id": _stable_id("region", "us"), "name": "us"},
            "released_at": app.created_at,
            "repo_size": None,
            "slug_size": 52_428_800,
            "space": None,
            "stack": stack,
            "updated_at": app.updated_at,
            "web_url": app.web_url,
        }

    def _formation_json(self, app: _App, formation: _Formation) -> dict[str, Any]:
        """The formation object: every property of definitions.formation."""
        return {
            "app": {"name": app.name, "id": app.id},
            "command": formation.command,
            "created_at": formation.created_at,
            "dyno_size": {"id": _stable_id("dyno-size", formation.size), "name": formation.size},
            "id": formation.id,
            "quantity": formation.quantity,
            "size": formation.size,
            "type": formation.type,
            "updated_at": formation.updated_at,
        }

    def _dyno_json(self, app: _App, formation: _Formation, dyno: _Dyno) -> dict[str, Any]:
        """The dyno object: every property of definitions.dyno (strictProperties)."""
        name = f"{formation.type}.{dyno.number}"
        state = self._dyno_state(dyno)
        if state == "crashed":
            changed = dyno.crashed_at or dyno.started_at
        elif state == "up":
            changed = dyno.started_at + timedelta(seconds=dyno.boot)
        else:
            changed = dyno.started_at
        return {
            "attach_url": None,
            "command": formation.command,
            "created_at": _timestamp(dyno.started_at),
            "id": self._dyno_id(app, name, dyno),
            "name": name,
            "release": {
                "id": _stable_id("release", f"{app.name}/v{app.release}"),
                "version": app.release,
            },
            "app": {"name": app.name, "id": app.id},
            "size": formation.size,
            "state": state,
            "type": formation.type,
            "updated_at": _timestamp(changed),
        }

    # -- control surface ----------------------------------------------------

    def _handle_control(self, method: str, raw_path: str, body: bytes) -> _Response:
        """Serve ``/__emulator__/...`` (no auth, not recorded, never delayed).

        ``GET requests``, ``POST reset-requests``, ``POST faults`` (inject_fault
        kwargs; ``body`` as a string), ``DELETE faults``, ``GET|POST quantity``
        (``{"app", "type", "quantity"}``; GET takes ``?app=&type=``),
        ``GET|POST rate-limit`` (``{"remaining"}``), ``POST latency``
        (``{"seconds"}``), ``GET patches[?app=]``, ``GET dynos?app=`` (``{name:
        state}``), ``POST crash`` (``{"app", "dyno"}``), ``POST boot-seconds``
        (``{"seconds"}``).
        """
        split = urlsplit(raw_path)
        action = split.path[len(CONTROL_PREFIX) :].strip("/")
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        headers = {"Request-Id": str(uuid.uuid4())}
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            payload = self._control(method, action, query, data)
        except KeyError as exc:
            return _json_response(404, _error("not_found", str(exc.args[0])), headers)
        except (ValueError, TypeError) as exc:
            return _json_response(400, _error("bad_request", str(exc)), headers)
        return _json_response(200, payload, headers)

    def _control(
        self, method: str, action: str, query: Mapping[str, str], data: dict[str, Any]
    ) -> Any:
        if (method, action) == ("GET", "requests"):
            return [record.to_dict() for record in self.requests]
        if (method, action) == ("POST", "reset-requests"):
            self.reset_requests()
            return {"ok": True}
        if (method, action) == ("POST", "faults"):
            if isinstance(data.get("body"), str):
                data["body"] = data["body"].encode()
            self.inject_fault(**data)
            return {"ok": True}
        if (method, action) == ("DELETE", "faults"):
            self.clear_faults()
            return {"ok": True}
        if (method, action) == ("GET", "quantity"):
            app, process_type = query.get("app", ""), query.get("type", "web")
            return {"app": app, "type": process_type, "quantity": self.quantity(app, process_type)}
        if (method, action) == ("POST", "quantity"):
            app, process_type = _field(data, "app"), data.get("type", "web")
            self.set_quantity(app, process_type, _field(data, "quantity"))
            return {"app": app, "type": process_type, "quantity": self.quantity(app, process_type)}
        if (method, action) == ("GET", "rate-limit"):
            return {"remaining": self.rate_limit_remaining()}
        if (method, action) == ("POST", "rate-limit"):
            self.set_rate_limit_remaining(_field(data, "remaining"))
            return {"remaining": self.rate_limit_remaining()}
        if (method, action) == ("POST", "latency"):
            seconds = _field(data, "seconds")
            self.set_latency(seconds)
            return {"seconds": seconds}
        if (method, action) == ("GET", "patches"):
            return self.patches(query.get("app"))
        if (method, action) == ("GET", "dynos"):
            return self.dyno_states(query.get("app", ""))
        if (method, action) == ("POST", "crash"):
            self.crash_dyno(_field(data, "app"), _field(data, "dyno"))
            return {"ok": True}
        if (method, action) == ("POST", "boot-seconds"):
            seconds = _field(data, "seconds")
            self.set_boot_seconds(seconds)
            return {"seconds": seconds}
        raise KeyError(f"unknown control endpoint {method} {CONTROL_PREFIX}{action}")


# (method, number of path segments, third segment) of the /apps/{app}... routes.
_APP_ROUTES = {
    ("GET", 2, None),
    ("GET", 3, "dynos"),
    ("DELETE", 3, "dynos"),
    ("GET", 4, "dynos"),
    ("DELETE", 4, "dynos"),
    ("GET", 3, "config-vars"),
    ("PATCH", 3, "config-vars"),
    ("GET", 3, "formation"),
    ("PATCH", 3, "formation"),
    ("GET", 4, "formation"),
    ("PATCH", 4, "formation"),
}


_RANGE_RE = re.compile(
    r"^\s*(?P<field>[a-z_]+)\s+(?P<after>\])?(?P<first>[^;]*?)\.\.(?P<last>[^;\[]*)(?P<before>\[)?"
    r"\s*(?:;(?P<params>.*))?$"
)
DEFAULT_PAGE_SIZE = 200
"""Items per list answer when the Range says no ``max``."""
MAX_PAGE_SIZE = 1000
"""The largest ``max`` a Range may ask for."""


def _bad_range(message: str) -> _ApiError:
    return _ApiError(416, "requested_range_not_satisfiable", message)


def _paginate(
    items: list[dict[str, Any]], header: str | None, fields: tuple[str, ...]
) -> tuple[int, list[dict[str, Any]], dict[str, str]]:
    """One page of ``items`` as the Platform API serves lists: (status, page, headers).

    ``header`` is the request's ``Range`` (None: ``id ..; max=200``); ``fields``
    the attributes it may sort by. 206 and ``Next-Range`` while more remain.
    """
    field, after, first, last, before, order, size = "id", False, "", "", False, "asc", 0
    if header is not None and header.strip():
        match = _RANGE_RE.match(header)
        if match is None or len(header) > 1000:
            raise _bad_range("Invalid Range header: expected e.g. `id ..; max=200`.")
        field, after, before = match["field"], bool(match["after"]), bool(match["before"])
        first, last = match["first"].strip(), match["last"].strip()
        if field not in fields:
            raise _bad_range(f"Range must be by one of: {', '.join(fields)}.")
        for param in re.split(r"[;,]", match["params"] or ""):
            key, _, value = (part.strip() for part in param.partition("="))
            if not key:
                continue
            if key == "max" and value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE:
                size = int(value)
            elif key == "order" and value in ("asc", "desc"):
                order = value
            else:
                raise _bad_range(
                    f"Invalid Range parameter {param.strip()[:40]!r}: "
                    f"use max=1..{MAX_PAGE_SIZE} and order=asc|desc."
                )
    size = size or DEFAULT_PAGE_SIZE
    descending = order == "desc"

    def after_start(value: str) -> bool:
        if not first:
            return True
        if descending:
            return value < first if after else value <= first
        return value > first if after else value >= first

    def before_end(value: str) -> bool:
        if not last:
            return True
        if descending:
            return value > last if before else value >= last
        return value < last if before else value <= last

    ordered = sorted(items, key=lambda item: (str(item[field]), item["id"]), reverse=descending)
    selected = [
        item for item in ordered if after_start(str(item[field])) and before_end(str(item[field]))
    ]
    page = selected[:size]
    headers = {"Accept-Ranges": ", ".join(fields)}
    if page:
        headers["Content-Range"] = f"{field} {page[0][field]}..{page[-1][field]}"
    if len(selected) <= size:
        return 200, page, headers
    next_range = f"{field} ]{page[-1][field]}..{last}{'[' if before else ''}; max={size}"
    headers["Next-Range"] = next_range + (", order=desc" if descending else "")
    return 206, page, headers


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _conditional(response: _Response, if_none_match: str | None) -> _Response:
    """Add an ``ETag``; answer 304 (no body) when ``If-None-Match`` names it."""
    etag = _etag(response.body)
    response.headers["ETag"] = etag
    if if_none_match is None:
        return response
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag not in tags and "*" not in tags:
        return response
    headers = {k: v for k, v in response.headers.items() if k != "Content-Type"}
    return _Response(304, b"", headers)


def _check_seconds(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")


def _field(data: Mapping[str, Any], name: str) -> Any:
    """A required control-body field (missing is a 400, not an unknown-thing 404)."""
    if name not in data:
        raise ValueError(f"missing field {name!r}")
    return data[name]


def _segments(path: str) -> list[str]:
    return [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []


def _is_formation_path(path: str) -> bool:
    parts = _segments(path)
    return len(parts) in (3, 4) and parts[0] == "apps" and parts[2] == "formation"


def _size_name_from_id(size_id: Any) -> str | None:
    return next((s for s in DYNO_SIZES if _stable_id("dyno-size", s) == size_id), None)


def _default_command(process_type: str) -> str:
    if process_type == "web":
        return "gunicorn app.wsgi --log-file -"
    return f"python -m app.{process_type}"


def _check_quantity(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"quantity must be a non-negative integer, got {n!r}")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _parse_formation(specs: list[str], quantity: int) -> dict[str, int]:
    if not specs:
        return {"web": quantity}
    formation = {}
    for spec in specs:
        process_type, sep, count = spec.partition("=")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"--formation expects TYPE=N, got {spec!r}")
        formation[process_type.strip()] = int(count)
    return formation


def main(argv: list[str] | None = None, prog: str = "autoscalebot emulate heroku") -> int:
    """Run the emulator until SIGTERM/SIGINT; returns the exit status.

    Prints ``heroku emulator listening on http://127.0.0.1:PORT`` once ready.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a Heroku Platform API emulator on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument(
        "--app",
        action="append",
        dest="apps",
        metavar="NAME",
        help="app to create (repeatable; default: example)",
    )
    parser.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help="API key to accept (never printed)"
    )
    parser.add_argument(
        "--web-url",
        action="append",
        default=[],
        metavar="URL",
        help="web_url of the apps: once for all apps, or once per --app in order",
    )
    parser.add_argument("--quantity", type=int, default=1, help="initial web dyno count")
    parser.add_argument(
        "--formation",
        action="append",
        default=[],
        metavar="TYPE=N",
        help="process type and count (repeatable; overrides --quantity)",
    )
    parser.add_argument("--size", default="Standard-1X", help="dyno size of every process type")
    parser.add_argument("--rate-limit", type=int, default=4500, help="request tokens")
    parser.add_argument(
        "--boot-seconds",
        type=float,
        default=0.0,
        help="seconds a dyno is 'starting' before it is 'up'",
    )
    parser.add_argument(
        "--regain-per-minute", type=float, default=75, help="tokens regained per minute"
    )
    parser.add_argument("--verbose", action="store_true", help="log each request line")
    args = parser.parse_args(argv)

    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    apps = args.apps or ["example"]
    web_urls: list[str | None]
    if not args.web_url:
        web_urls = [None] * len(apps)
    elif len(args.web_url) == 1:
        web_urls = args.web_url * len(apps)
    elif len(args.web_url) == len(apps):
        web_urls = list(args.web_url)
    else:
        print("error: give --web-url once, or once per --app", file=sys.stderr)
        return 2
    try:
        emulator = HerokuEmulator(
            args.host,
            args.port,
            api_key=args.api_key,
            rate_limit=args.rate_limit,
            regain_per_minute=args.regain_per_minute,
            boot_seconds=args.boot_seconds,
        )
        formation = _parse_formation(args.formation, args.quantity)
        for name, web_url in zip(apps, web_urls, strict=True):
            emulator.add_app(name, web_url=web_url, formation=formation, size=args.size)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with stop_on_signals() as stop, emulator:
        print(f"heroku emulator listening on {emulator.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

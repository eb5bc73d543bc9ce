"""Request queue time and service time, recorded by the app for the bot.

Heroku's router stamps every request with ``X-Request-Start`` (milliseconds
since the epoch). The middleware here records, per request, the queue time
(arrival at the app minus that stamp, never below 0) and the service time
(the app's own time on the request) into a small in-process aggregate, and
serves what it saw since the last read as JSON for the ``requests``
measurement backend:

* Django: add ``"autoscalebot.middleware.DjangoRequestTimingMiddleware"``
  first in ``MIDDLEWARE``; the heartbeat view answers with the figures when
  asked for ``application/json`` (and plain ``ok`` otherwise).
* Any WSGI app (Flask, gunicorn): ``app = WSGIRequestTiming(app)``.
* Any ASGI app (FastAPI, Starlette, uvicorn): ``app = ASGIRequestTiming(app)``.

The WSGI and ASGI wrappers serve the figures at ``/autoscalebot/figures/``
(set ``HEARTBEAT_URL`` to it). This module imports nothing from Django
unless the Django middleware is used, and holds no lock on the request path:
it appends to a bounded deque and bumps counters, which the interpreter does
atomically.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

FIGURES_PATH = "/autoscalebot/figures/"
SAMPLES = 2048  # the most recent requests kept for percentiles; counts are exact
_MAX_QUEUE_MS = 3_600_000.0  # a stamp an hour or more old is a broken clock, not a queue


def parse_request_start(value: str | None, now: float) -> float | None:
    """Queue time in ms from an ``X-Request-Start`` value, or None if unreadable.

    Takes Heroku's milliseconds (``1418760434117``), nginx's seconds
    (``t=1418760434.117``) and microseconds; a stamp in the future (the
    router's clock ahead of ours) is 0, one an hour or more old is ignored.
    """
    if not value:
        return None
    text = value.strip()
    if text.startswith("t="):
        text = text[2:]
    try:
        stamp = float(text)
    except ValueError:
        return None
    if not math.isfinite(stamp) or stamp <= 0:
        return None
    if stamp > 1e14:  # microseconds
        stamp /= 1e6
    elif stamp > 1e11:  # milliseconds
        stamp /= 1e3
    queue_ms = (now - stamp) * 1000.0
    if queue_ms >= _MAX_QUEUE_MS:
        return None
    return max(0.0, queue_ms)


class RequestStats:
    """A bounded in-process aggregate of request timings, read and reset by the bot.

    Writers (request threads) only append to a deque and advance counters;
    the reader swaps the deque for a new one. A request finishing during the
    swap may land in the old deque and be left out of the percentiles (never
    out of the counts): the price of no lock on the request path.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, size: int = SAMPLES) -> None:
        self._clock = clock
        self._size = size
        self._samples: deque[tuple[float | None, float]] = deque(maxlen=size)
        self._started = itertools.count()
        self._finished = itertools.count()
        self._read_finished = 0
        self._since = clock()

    def begin(self) -> None:
        """A request has arrived (for the busy count)."""
        next(self._started)

    def end(self, queue_ms: float | None, service_ms: float) -> None:
        """A request has been answered."""
        self._samples.append((queue_ms, service_ms))
        next(self._finished)

    def read(self, *, reader_counted: bool = False) -> dict[str, Any]:
        """The figures since the last read, and start a new window.

        ``reader_counted``: the request reading them went through
        :meth:`begin` (the Django middleware), so it is taken off the busy count.
        """
        now = self._clock()
        samples, self._samples = self._samples, deque(maxlen=self._size)
        finished = _peek(self._finished)
        started = _peek(self._started)
        requests, self._read_finished = finished - self._read_finished, finished
        seconds, self._since = max(0.0, now - self._since), now
        queue = sorted(q for q, _ in samples if q is not None)
        service = sorted(s for _, s in samples)
        return {
            "requests": requests,
            "seconds": round(seconds, 3),
            "rate": round(requests / seconds, 3) if seconds > 0 else 0.0,
            "queue_ms": {
                "p50": _pct(queue, 50),
                "p95": _pct(queue, 95),
                "max": round(queue[-1], 1) if queue else None,
            },
            "service_ms": {
                "p50": _pct(service, 50),
                "p95": _pct(service, 95),
                "mean": round(sum(service) / len(service), 1) if service else None,
            },
            "busy": max(0, started - finished - (1 if reader_counted else 0)),
        }


def _peek(counter: itertools.count[int]) -> int:
    """The next value an ``itertools.count`` would give, without taking it."""
    return int(repr(counter)[6:-1])


def _pct(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100.0 * len(ordered)) - 1))
    return round(ordered[index], 1)


STATS = RequestStats()  # one per process: what this process's middleware saw


def figures_json(
    stats: RequestStats = STATS, *, reader_counted: bool = False, **extra: Any
) -> bytes:
    """The figures since the last read, as the JSON body the bot reads."""
    figures = stats.read(reader_counted=reader_counted)
    return json.dumps({**figures, **extra}, separators=(",", ":")).encode()


class WSGIRequestTiming:
    """WSGI middleware: records every request; serves the figures at ``path``.

    Service time runs until the app returns its response iterable (streamed
    bodies after that are not counted).
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        path: str = FIGURES_PATH,
        stats: RequestStats = STATS,
    ) -> None:
        self.app = app
        self.path = path
        self.stats = stats

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        arrived, wall = time.perf_counter(), time.time()
        if environ.get("PATH_INFO") == self.path:
            body = figures_json(self.stats, status="ok")
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/json"),
                    ("Cache-Control", "no-store"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body]
        queue_ms = parse_request_start(environ.get("HTTP_X_REQUEST_START"), wall)
        self.stats.begin()
        try:
            return self.app(environ, start_response)
        finally:
            self.stats.end(queue_ms, (time.perf_counter() - arrived) * 1000.0)


class ASGIRequestTiming:
    """ASGI middleware (FastAPI, Starlette): records every HTTP request; serves the figures at ``path``."""

    def __init__(self, app: Any, *, path: str = FIGURES_PATH, stats: RequestStats = STATS) -> None:
        self.app = app
        self.path = path
        self.stats = stats

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        arrived, wall = time.perf_counter(), time.time()
        if scope.get("path") == self.path:
            body = figures_json(self.stats, status="ok")
            headers = [
                (b"content-type", b"application/json"),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-start":
                start = value.decode("latin-1")
                break
        queue_ms = parse_request_start(start, wall)
        self.stats.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.stats.end(queue_ms, (time.perf_counter() - arrived) * 1000.0)


class DjangoRequestTimingMiddleware:
    """Django middleware: records every request. Put it first in ``MIDDLEWARE``.

    The figures are served by the heartbeat view (``autoscalebot.views``) to
    a client that asks for ``application/json``.
    """

    def __init__(self, get_response: Callable[[Any], Any], stats: RequestStats = STATS) -> None:
        self.get_response = get_response
        self.stats = stats

    def __call__(self, request: Any) -> Any:
        arrived, wall = time.perf_counter(), time.time()
        queue_ms = parse_request_start(request.META.get("HTTP_X_REQUEST_START"), wall)
        self.stats.begin()
        try:
            return self.get_response(request)
        finally:
            self.stats.end(queue_ms, (time.perf_counter() - arrived) * 1000.0)

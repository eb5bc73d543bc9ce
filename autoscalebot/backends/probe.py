"""Measurement backend: the response time of a heartbeat URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import httpx

from autoscalebot.backends import http
from autoscalebot.backends.base import BaseBackend, Measurement
from autoscalebot.config.settings import Settings

# A heartbeat is a tiny page; a body past this is a misconfigured URL, not a beat.
MAX_BODY_BYTES = 1 << 20


class HeartbeatProbe(BaseBackend):
    """Times one GET of ``HEARTBEAT_URL`` per beat.

    A relative URL is resolved against the app's own URL, asked of the
    scaling backend (Heroku: the app's ``web_url``) the first time it is
    needed. The whole beat (resolving, connecting, headers, body, redirects)
    has ``HEARTBEAT_TIMEOUT_IN_SECONDS`` in total: past it the beat is a fail,
    however the server dribbles its answer. Timeouts, unknown hosts, refused
    connections, resets and redirect loops become a ``Measurement`` with
    ``error`` set; nothing raises.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        app_url: Callable[[], str | None] | None = None,
        client: httpx.Client | None = None,
        timer: Callable[[], float] = time.perf_counter,
        headers: dict[str, str] | None = None,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        self._settings = settings
        self._app_url = app_url
        self._url: str | None = None
        self._timer = timer
        self._headers = dict(headers or {})  # per request: the client may be shared
        self._own = client is not None
        self._client = http.bound(client) if client else _shared_client()

    def configure(self, settings: Settings) -> None:
        """Take settings edited at run time (the timeout follows MAX_RESPONSE_TIME_IN_MS)."""
        self._settings = settings

    def url(self) -> str:
        """The absolute URL to time (resolving it once)."""
        if self._url is None:
            configured = self._settings.heartbeat_url
            if configured.startswith(("http://", "https://")):
                self._url = configured
            else:
                base = self._app_url() if self._app_url else None
                if not base:
                    raise LookupError("the app's URL is unknown; set HEARTBEAT_URL to a full URL")
                self._url = urljoin(
                    base if base.endswith("/") else base + "/", configured.lstrip("/")
                )
        return self._url

    def measure(self) -> Measurement:
        return self.fetch()[0]

    def fetch(self) -> tuple[Measurement, bytes]:
        """One beat and the body it brought (empty when it brought none), for probes
        that read what the app says as well as how long it took."""
        try:
            url = self.url()  # a ScalerError here is the platform's, and the engine's to report
        except LookupError as exc:
            return Measurement(None, error=str(exc)), b""
        started = self._timer()
        try:
            reply = http.request(
                self._client,
                "GET",
                url,
                deadline=self._settings.heartbeat_timeout,
                max_bytes=MAX_BODY_BYTES,
                timeout=self._settings.heartbeat_timeout,
                headers=self._headers,
            )
        except http.CallFailed as exc:
            error = f"heartbeat {exc}" if exc.kind == "too_large" else str(exc)
            return Measurement(None, status=exc.status, error=error), b""
        elapsed_ms = (self._timer() - started) * 1000.0
        return Measurement(elapsed_ms, status=reply.status_code), reply.content

    def close(self) -> None:
        if self._own:
            self._client.close()  # the shared one lives as long as the process


_SHARED: httpx.Client | None = None
_SHARED_LOCK = threading.Lock()


def _shared_client() -> httpx.Client:
    """One connection pool for every heartbeat probe in the process.

    A bot of a thousand formations would otherwise build a thousand clients
    (each loads the CA bundle: seconds and megabytes). Each call still has
    its own deadline; the pool has no connection limit, so formations whose
    heartbeats hang never make the others wait for a connection.
    """
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = http.client(
                timeout=5.0,  # each request passes its own; this is never used
                follow_redirects=True,
                max_redirects=5,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
                headers={"User-Agent": "autoscalebot heartbeat", "Cache-Control": "no-cache"},
            )
        return _SHARED

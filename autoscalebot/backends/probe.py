"""Measurement backend: the response time of a heartbeat URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import httpx

from autoscalebot.backends.base import BaseBackend, Measurement
from autoscalebot.config.settings import Settings

# A heartbeat is a tiny page; a body past this is a misconfigured URL, not a beat.
MAX_BODY_BYTES = 1 << 20


class HeartbeatProbe(BaseBackend):
    """Times one GET of ``HEARTBEAT_URL`` per beat.

    A relative URL is resolved against the app's own URL, asked of the
    scaling backend (Heroku: the app's ``web_url``) the first time it is
    needed. Timeouts, refused connections, resets and redirect loops become
    a ``Measurement`` with ``error`` set; nothing raises.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        app_url: Callable[[], str | None] | None = None,
        client: httpx.Client | None = None,
        timer: Callable[[], float] = time.perf_counter,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        self._settings = settings
        self._app_url = app_url
        self._url: str | None = None
        self._timer = timer
        self._client = client or httpx.Client(
            timeout=settings.heartbeat_timeout,
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": "autoscalebot heartbeat", "Cache-Control": "no-cache"},
        )

    def configure(self, settings: Settings) -> None:
        """Take settings edited at run time (the timeout follows MAX_RESPONSE_TIME_IN_MS)."""
        self._settings = settings
        self._client.timeout = httpx.Timeout(settings.heartbeat_timeout)

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
        try:
            url = self.url()  # a ScalerError here is the platform's, and the engine's to report
        except LookupError as exc:
            return Measurement(None, error=str(exc))
        started = self._timer()
        deadline = started + self._settings.heartbeat_timeout
        try:
            # Streamed, so a body that never ends (or trickles in under the
            # per-read timeout) is cut off at the beat's total deadline.
            with self._client.stream("GET", url) as response:
                size = 0
                for chunk in response.iter_raw():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        return Measurement(
                            None, status=response.status_code, error="heartbeat body too large"
                        )
                    if self._timer() > deadline:
                        return Measurement(
                            None, status=response.status_code, error=self._timeout_text()
                        )
        except httpx.TimeoutException:
            return Measurement(None, error=self._timeout_text())
        except httpx.TooManyRedirects:
            return Measurement(None, error="too many redirects")
        except httpx.ConnectError:
            return Measurement(None, error="connection refused")
        except httpx.HTTPError as exc:
            return Measurement(None, error=f"{type(exc).__name__}".lower())
        elapsed_ms = (self._timer() - started) * 1000.0
        return Measurement(elapsed_ms, status=response.status_code)

    def _timeout_text(self) -> str:
        return f"timed out after {self._settings.heartbeat_timeout:g} s"

    def close(self) -> None:
        self._client.close()

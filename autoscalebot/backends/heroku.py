"""Scaling backend: the Heroku Platform API v3 (formation of one process type)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from autoscalebot import __version__
from autoscalebot.backends import http
from autoscalebot.backends.base import BaseBackend, ScalerError
from autoscalebot.backends.checks import is_loopback
from autoscalebot.config.settings import ConfigError, Settings

ACCEPT = "application/vnd.heroku+json; version=3"
# Heroku refills the per-account pool at about 75 requests a minute; when it
# is empty, waiting a minute gives the pool room again.
RATE_LIMIT_BACKOFF = 60.0
# One API call, all of it (connect, headers, body), and the most of an answer
# read: a formation or an app is a few hundred bytes of JSON.
DEADLINE_SECONDS = 10.0
MAX_BODY_BYTES = 1 << 20

_KINDS = {401: "auth", 403: "forbidden", 404: "not_found", 422: "invalid", 429: "rate_limited"}
_HINTS = {
    401: "check HEROKU_API_KEY",
    403: "the key's account may not scale this app",
    404: "check HEROKU_APP_NAME and PROCESS_TYPE",
    422: "Heroku refused the change",
    429: "backing off",
}


class HerokuScaler(BaseBackend):
    """Reads and sets ``quantity`` of ``PROCESS_TYPE`` for ``HEROKU_APP_NAME``.

    The key goes only over HTTPS (loopback excepted). Every failure becomes a
    :class:`ScalerError` whose message names the cause and never the key.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = DEADLINE_SECONDS,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        base = settings.heroku_api_url
        if not base.startswith("https://") and not is_loopback(base):
            raise ConfigError(
                "HEROKU_API_URL",
                f"{base} is not HTTPS; the API key is only sent over HTTPS",
                "Use https://api.heroku.com (plain http is allowed only on loopback).",
            )
        self.app = settings.heroku_app_name or ""
        self.process_type = settings.process_type
        self.rate_limit_remaining: int | None = None
        self._clock = clock
        self._quiet_until = 0.0
        self._deadline = deadline
        self._client = http.bound(client) if client else http.client(timeout=deadline)
        self._base = base
        self._headers = {
            "Accept": ACCEPT,
            "Authorization": f"Bearer {settings.heroku_api_key or ''}",
            "User-Agent": f"autoscalebot/{__version__}",
        }

    def _formation_path(self) -> str:
        return f"/apps/{quote(self.app, safe='')}/formation/{quote(self.process_type, safe='')}"

    def current(self) -> int:
        return self._quantity(self._call("GET", self._formation_path()))

    def scale_to(self, quantity: int) -> int:
        return self._quantity(self._call("PATCH", self._formation_path(), {"quantity": quantity}))

    @property
    def target(self) -> str:
        """What is scaled, for the start event: ``my-app/web``."""
        return f"{self.app}/{self.process_type}"

    def app_url(self) -> str | None:
        body = self._call("GET", f"/apps/{quote(self.app, safe='')}")
        url = body.get("web_url") if isinstance(body, dict) else None
        return url if isinstance(url, str) else None

    def readiness(self) -> tuple[int, int] | None:
        """``(up, starting)``: the ``PROCESS_TYPE`` dynos Heroku says serve, and boot.

        Crashed, idle and down dynos count as neither. Read from the app's
        dyno list (its first page: 200 dynos of all types).
        """
        body = self._call("GET", f"/apps/{quote(self.app, safe='')}/dynos")
        if not isinstance(body, list):
            raise ScalerError("Heroku answered the dyno list without a list", kind="protocol")
        states = [
            dyno.get("state")
            for dyno in body
            if isinstance(dyno, dict) and dyno.get("type") == self.process_type
        ]
        return states.count("up"), states.count("starting")

    def close(self) -> None:
        self._client.close()

    def _quantity(self, body: Any) -> int:
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise ScalerError("Heroku answered without a formation quantity", kind="protocol")
        return quantity

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        wait = self._quiet_until - self._clock()
        if wait > 0:
            raise ScalerError(
                f"Heroku rate limit reached; next call in {wait:.0f} s",
                kind="rate_limited",
                retry_after=wait,
            )
        what = f"{method} {path}"
        try:
            response = http.request(
                self._client,
                method,
                self._base + path,
                json=body,
                headers=self._headers,
                deadline=self._deadline,
                max_bytes=MAX_BODY_BYTES,
                truncate=True,  # an error's status still counts; its page need not be whole
            )
        except http.CallFailed as exc:
            if exc.kind == "timeout":
                raise ScalerError(f"Heroku API {exc} ({what})", kind="network") from None
            raise ScalerError(f"Heroku API unreachable ({what}): {exc}", kind="network") from None
        remaining = response.headers.get("RateLimit-Remaining")
        if remaining is not None and remaining.strip().isdigit():
            self.rate_limit_remaining = int(remaining)
        if response.status_code == 429 or self.rate_limit_remaining == 0:
            self._quiet_until = self._clock() + RATE_LIMIT_BACKOFF
        if response.status_code >= 400:
            raise self._error(response, what)
        if response.truncated:
            raise ScalerError(
                f"Heroku answered {what} with a body over {MAX_BODY_BYTES} bytes", kind="protocol"
            )
        try:
            return response.json()
        except ValueError:
            raise ScalerError(
                f"Heroku answered {what} with malformed JSON", kind="protocol"
            ) from None

    def _error(self, response: http.Reply, what: str) -> ScalerError:
        status = response.status_code
        error_id, message = "", ""
        try:
            data = response.json()
            if isinstance(data, dict):
                error_id = str(data.get("id", ""))[:60]
                message = str(data.get("message", ""))[:300]
        except ValueError:
            pass
        kind = _KINDS.get(status, "server" if status >= 500 else "protocol")
        hint = _HINTS.get(status, "Heroku may be having trouble; retrying next beat")
        detail = f" {error_id}" if error_id else ""
        text = f"Heroku {status}{detail} on {what}: {message or response.reason_phrase} ({hint})"
        retry = RATE_LIMIT_BACKOFF if status == 429 else None
        return ScalerError(text, kind=kind, retry_after=retry)

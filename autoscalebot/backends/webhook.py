"""Notification backend: POST each notification to a webhook (Slack-compatible by default).

``WEBHOOK_FORMAT = "slack"`` sends ``{"text": "[autoscalebot] scaled: ..."}``,
which Slack, Mattermost, Rocket.Chat, Google Chat and Discord's ``/slack``
endpoint all accept; ``"json"`` sends every field of the notification.

The URL usually *is* the credential (Slack's and Discord's carry a token in
the path), so it is a secret setting: from the environment or the settings
module only, HTTPS only (loopback excepted), and never in a log line or an
error message, including the HTTP library's own log lines, which this
backend scrubs. Each POST has ``WEBHOOK_TIMEOUT_IN_SECONDS`` in total (headers
and body included) and at most 64 KiB of its answer is read; a request that
surely never arrived (unknown host, refused), a 429 or a 5xx is retried once
after a backoff. The engine runs notification
backends on their own thread, so even a webhook that hangs until its timeout
never delays a beat.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from autoscalebot import __version__
from autoscalebot.backends import http
from autoscalebot.backends.base import BaseBackend, Notification
from autoscalebot.backends.checks import is_loopback
from autoscalebot.backends.notification import subject
from autoscalebot.config.settings import ConfigError, Settings

FORMATS = ("slack", "json")
BACKOFF_SECONDS = 1.0
# A Retry-After longer than this is not waited for: the notifier's thread has
# other messages to deliver; the message is reported as failed instead.
MAX_RETRY_AFTER = 10.0
# Of a webhook's answer only a line is shown; the rest is not even read.
MAX_BODY_BYTES = 64 * 1024
_MASK = "[WEBHOOK_URL]"
# Loggers of the HTTP stack that may print the request URL (httpx logs
# "HTTP Request: POST <url>" at INFO); logger filters do not pass to children.
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)

log = logging.getLogger(__name__)


class WebhookError(Exception):
    """A notification could not be delivered; the message never holds the URL."""


class _Scrub(logging.Filter):
    """Replaces the secret parts of the URL in log records that pass through."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        if any(secret in text for secret in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, _MASK)
            record.msg, record.args = text, ()
        return True


class WebhookBackend(BaseBackend):
    """POSTs notifications to ``WEBHOOK_URL``.

    ``client`` replaces the HTTP client and ``wait(seconds) -> bool`` the
    backoff pause (tests pass one that does not sleep); by default the pause
    ends early when the backend is closed.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        wait: Callable[[float], Any] | None = None,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        url = settings.webhook_url or ""
        if not url:
            raise ConfigError(
                "WEBHOOK_URL",
                "is required by the webhook backend",
                "export AUTOSCALE_WEBHOOK_URL=https://hooks.slack.com/services/...",
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Not echoed: the value is a secret.
            raise ConfigError(
                "WEBHOOK_URL",
                "is not an http(s) URL",
                "Write it like https://hooks.slack.com/services/...",
            )
        if parts.scheme != "https" and not is_loopback(url):
            raise ConfigError(
                "WEBHOOK_URL",
                f"points at {parts.hostname} over plain http; the URL is a secret and goes only over HTTPS",
                "Use the https:// URL (plain http is allowed only on loopback).",
            )
        if settings.webhook_format not in FORMATS:
            raise ConfigError(
                "WEBHOOK_FORMAT",
                f"{settings.webhook_format!r} is not a format",
                f"Use one of: {', '.join(FORMATS)}.",
            )
        self.format = settings.webhook_format
        self.host = parts.hostname
        """Where notifications go: safe to show (the secret is in the path)."""
        self._url = url
        # The whole URL, its path and query, and each long part of them alone
        # (a token segment may come back on its own, e.g. echoed in an error).
        pieces = re.split(r"[/?&=]", f"{parts.path}?{parts.query}")
        self._secrets = [url, parts.path, parts.query] + [p for p in pieces if len(p) > 8]
        # httpx logs the URL as it sends it, percent-encoded: mask that spelling too.
        sent = httpx.URL(url)
        encoded = [str(sent), sent.raw_path.decode("ascii", "replace"), sent.path]
        encoded += [p for p in re.split(r"[/?&=]", encoded[1]) if len(p) > 8]
        self._secrets += encoded
        self._secrets = sorted({s for s in self._secrets if len(s) > 1}, key=len, reverse=True)
        self._closing = threading.Event()
        self._wait = wait or self._closing.wait
        self._timeout = settings.webhook_timeout_in_seconds
        self._client = (
            http.bound(client)
            if client
            else http.client(
                timeout=settings.webhook_timeout_in_seconds,
                follow_redirects=False,
                headers={"User-Agent": f"autoscalebot/{__version__}"},
            )
        )
        self._scrub = _Scrub(self._secrets)
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._scrub)

    def __repr__(self) -> str:
        return f"<WebhookBackend to {self.host} ({self.format})>"

    def payload(self, note: Notification) -> dict[str, Any]:
        """The JSON body for ``note``."""
        text = f"{subject(note)}: {note}"
        if self.format == "slack":
            return {"text": text}
        return {
            "text": text,
            "kind": note.kind,
            "message": note.message,
            "reason": note.reason,
            "at": note.at.isoformat(),
            "counts": dict(note.counts),
        }

    def send(self, notification: Notification) -> None:
        body = self.payload(notification)
        problem, pause = self._post(body)
        if problem is None:
            return
        if pause is None or self._closing.is_set():
            raise WebhookError(problem)
        self._wait(pause)
        retried, _ = self._post(body)
        if retried is not None:
            raise WebhookError(f"{retried} (after a retry; first: {problem})")

    def _post(self, body: dict[str, Any]) -> tuple[str | None, float | None]:
        """One POST: (None, None) on success, else (what went wrong, backoff before a retry or None)."""
        try:
            response = http.request(
                self._client,
                "POST",
                self._url,
                json=body,
                deadline=self._timeout,
                max_bytes=MAX_BODY_BYTES,
                truncate=True,
            )
        except http.CallFailed as exc:
            if exc.kind == "timeout" and exc.sent:
                # It may have arrived: a retry could post it twice, so none.
                return f"webhook at {self.host} did not answer in time ({exc})", None
            if not exc.sent or exc.kind == "protocol":
                return (
                    f"webhook at {self.host} unreachable: {self._hide(str(exc))}",
                    BACKOFF_SECONDS,
                )
            return f"webhook at {self.host} failed: {self._hide(str(exc))}", None
        code = response.status_code
        if code < 300:
            return None, None
        detail = self._hide(response.text.strip())[:120]
        problem = f"webhook at {self.host} answered {code}" + (f": {detail}" if detail else "")
        if code == 429:
            return problem, min(_retry_after(response) or BACKOFF_SECONDS, MAX_RETRY_AFTER)
        return problem, BACKOFF_SECONDS if code >= 500 else None

    def _hide(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text

    def close(self) -> None:
        self._closing.set()
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._scrub)
        self._client.close()


def _retry_after(response: http.Reply) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

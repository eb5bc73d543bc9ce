"""Scaling backend: the Heroku Platform API v3 (formation of one process type).

Every scaler on one API key shares one :class:`~autoscalebot.backends.heroku_account.HerokuAccount`
(one client, one formation list per app, batched updates, one request budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from autoscalebot.backends import heroku_account
from autoscalebot.backends.base import BaseBackend, ScalerError
from autoscalebot.backends.checks import is_loopback
from autoscalebot.backends.heroku_account import (  # noqa: F401 - the names callers knew here
    ACCEPT,
    MAX_BODY_BYTES,
    RATE_LIMIT_BACKOFF,
    HerokuAccount,
)
from autoscalebot.config.settings import ConfigError, Settings

# One API call, all of it (connect, headers, body): a formation or an app is
# a few hundred bytes of JSON.
DEADLINE_SECONDS = 10.0


class HerokuScaler(BaseBackend):
    """Reads and sets ``quantity`` of ``PROCESS_TYPE`` for ``HEROKU_APP_NAME``.

    The key goes only over HTTPS (loopback excepted). Every failure becomes a
    :class:`ScalerError` whose message names the cause and never the key.

    Scalers on the same ``HEROKU_API_URL`` and key share the process's
    account for it (:func:`heroku_account.account_for`); an injected
    ``client`` or ``clock`` gives this scaler an account of its own, and
    ``account`` hands one in (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = DEADLINE_SECONDS,
        account: HerokuAccount | None = None,
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
        self._deadline = deadline
        self._confirm = False  # the next read confirms a scale: never paced
        self._closed = False
        key = settings.heroku_api_key or ""
        if account is not None:
            self._account = account
            self._shared = False
            account.join(self.app, self.process_type)
        elif client is not None or clock is not time.monotonic:
            self._account = HerokuAccount(base, key, client=client, clock=clock, deadline=deadline)
            self._shared = False
            self._account.join(self.app, self.process_type)
        else:
            self._account = heroku_account.account_for(base, key, self.app, self.process_type)
            self._shared = True

    @property
    def rate_limit_remaining(self) -> int | None:
        """The last ``RateLimit-Remaining`` Heroku sent to this key's account."""
        return self._account.budget.remaining

    def current(self) -> int:
        """The process type's quantity from the app's formation list (shared, paced)."""
        kind = "scale" if self._confirm else "refresh"
        self._confirm = False
        return self._account.quantity(
            self.app, self.process_type, deadline=self._deadline, kind=kind
        )

    def current_fresh(self) -> int:
        """The quantity read now, for the re-read right before a scale.

        Shared only with reads of the app from the last second, and never
        held back by the pacing (a scale's reads count as scaling calls):
        a count someone changed by hand since the last refresh is seen.
        """
        self._confirm = False
        return self._account.quantity(
            self.app, self.process_type, deadline=self._deadline, kind="scale"
        )

    def scale_to(self, quantity: int) -> int:
        """Set the quantity (with the app's other types scaled at this moment, one batch)."""
        self._confirm = True
        return self._account.scale(self.app, self.process_type, quantity, deadline=self._deadline)

    def min_refresh_seconds(self) -> float:
        """The shortest count refresh period that keeps the key's account inside its budget.

        The engine re-reads the count every ``max(COUNT_REFRESH_IN_SECONDS,
        min_refresh_seconds())``; the value grows with the apps on the key
        and as ``RateLimit-Remaining`` falls under the reserve. Reads more
        often than this get the account's last list.
        """
        return self._account.refresh_interval()

    def budget(self) -> dict[str, Any]:
        """How much of the key's request budget the process uses (shared by its formations).

        ``used_last_hour`` (requests this process sent on the key), ``limit``,
        ``remaining`` (Heroku's last ``RateLimit-Remaining``, None before
        the first answer), ``formations`` and ``apps`` on the key,
        ``refresh_every_s`` (:meth:`min_refresh_seconds`), ``shared_reads``
        (count reads answered without a request of their own) and
        ``backoff_s`` (seconds left of a rate-limit back-off).
        """
        return self._account.status()

    @property
    def target(self) -> str:
        """What is scaled, for the start event: ``my-app/web``."""
        return f"{self.app}/{self.process_type}"

    def app_url(self) -> str | None:
        body = self._account.app_info(self.app, deadline=self._deadline)
        url = body.get("web_url") if isinstance(body, dict) else None
        return url if isinstance(url, str) else None

    def readiness(self) -> tuple[int, int] | None:
        """``(up, starting)``: the ``PROCESS_TYPE`` dynos Heroku says serve, and boot.

        Crashed, idle and down dynos count as neither. Read from the app's
        dyno list (its first page: 200 dynos of all types).
        """
        body = self._account.dynos(self.app, self.process_type, deadline=self._deadline)
        if not isinstance(body, list):
            raise ScalerError("Heroku answered the dyno list without a list", kind="protocol")
        states = [
            dyno.get("state")
            for dyno in body
            if isinstance(dyno, dict) and dyno.get("type") == self.process_type
        ]
        return states.count("up"), states.count("starting")

    def close(self) -> None:
        """Leave the account (its client closes when its last formation leaves)."""
        if self._closed:
            return
        self._closed = True
        if self._shared:
            heroku_account.leave(self._account, self.app, self.process_type)
        else:
            self._account.leave(self.app, self.process_type)

"""One Heroku account, shared by every formation that scales with its API key.

Heroku gives an account (one API key) a pool of 4,500 requests, refilled at
75 a minute, and every tool on that key draws from it: this bot's formations,
the user's CLI, dashboards, CI. One :class:`HerokuAccount` per (API URL, key)
holds, for all the formations of the process that use that key:

* **one bounded client** (:mod:`autoscalebot.backends.http`: a total deadline
  and a body cap on every call), shared by the worker threads;
* **one formation list per app**: ``current()`` of the process types of an
  app reads ``GET /apps/{app}/formation`` (a lone type of its app reads its
  own formation, which costs the same one request); calls at the same moment share one
  request (single flight), and a list stays good for the app's refresh
  period (:meth:`HerokuAccount.refresh_interval`, about a second while the
  budget is roomy), never across a scale of that app;
* **one batch update per app**: scales of several process types of one app
  that arrive within a short window go out as one
  ``PATCH /apps/{app}/formation`` with ``{"updates": [...]}``; every caller
  gets its own type's confirmed quantity or its own error. A lone scale uses
  ``PATCH /apps/{app}/formation/{type}``: no wait when no other process type
  of the app is scaled from this process, and an error that names one type;
* **one budget** (:class:`RequestBudget`): requests of the last hour, the
  last ``RateLimit-Remaining`` seen, and a reserve (a quarter of the pool)
  left for scaling calls and for the user's own tools. Count refreshes get
  what is left; when the pool runs low they are spread further apart before
  any 429; scaling calls are never held back by the pacing, only by a 429's
  back-off (Heroku would refuse them then anyway).

The key is kept in memory only, for the ``Authorization`` header; the
registry indexes accounts by a hash of it, and no message, repr or status
holds it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from autoscalebot import __version__
from autoscalebot.backends import http
from autoscalebot.backends.base import ScalerError

log = logging.getLogger(__name__)

ACCEPT = "application/vnd.heroku+json; version=3"
# Heroku's pool: 4500 requests, regained at 75 a minute (so 4500 an hour).
LIMIT_PER_HOUR = 4500
REGAIN_PER_SECOND = 75 / 60
# The share of the pool the bot leaves to scaling calls and the user's tools.
RESERVE_SHARE = 0.25
# Refreshes never get less than this share of the pool per hour, however
# much scaling took (a bot that cannot see its counts scales blind).
FLOOR_SHARE = 0.05
# How far a low pool can slow refreshes (1/50 of the normal pace at most);
# below HOLD_SHARE of the reserve, refreshes are served from the last list.
SLOWEST = 0.02
HOLD_SHARE = 0.1
# When the pool is empty, waiting a minute gives it room again (75 requests);
# a Retry-After is honoured up to an hour.
RATE_LIMIT_BACKOFF = 60.0
MAX_RETRY_AFTER = 3600.0
# Reads of one app within this many seconds share one request whatever the budget.
FRESH_SECONDS = 1.0
# How long the first scale of an app waits for other process types of it.
BATCH_WINDOW = 0.05
MAX_BODY_BYTES = 1 << 20

_KINDS = {401: "auth", 403: "forbidden", 404: "not_found", 422: "invalid", 429: "rate_limited"}
_HINTS = {
    401: "check HEROKU_API_KEY",
    403: "the key's account may not scale this app",
    404: "check HEROKU_APP_NAME and PROCESS_TYPE",
    422: "Heroku refused the change",
    429: "backing off",
}


def _copy(error: ScalerError) -> ScalerError:
    """A fresh exception per caller: one object raised in several threads shares a traceback."""
    return ScalerError(str(error), kind=error.kind, retry_after=error.retry_after)


class RequestBudget:
    """The account's request budget: what was sent in the last hour, what Heroku says is left.

    Counts per minute for an hour (60 numbers per kind, whatever the rate).
    ``kind`` is ``refresh`` (a count re-read), ``scale`` (a formation update
    and the read that confirms it) or ``other`` (the app's URL, its dynos).
    Not thread-safe: :class:`HerokuAccount` calls it under its lock.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        limit: int = LIMIT_PER_HOUR,
        reserve: float = RESERVE_SHARE,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.reserve = reserve
        self.remaining: int | None = None
        self._remaining_at = 0.0
        self.quiet_until = -math.inf
        self._minutes: dict[int, dict[str, int]] = {}

    def record(self, kind: str) -> None:
        """One request sent."""
        minute = int(self.clock() // 60)
        counts = self._minutes.setdefault(minute, {})
        counts[kind] = counts.get(kind, 0) + 1
        self._prune(minute)

    def used(self, *kinds: str) -> int:
        """Requests of ``kinds`` (all when none given) sent in the last hour."""
        minute = int(self.clock() // 60)
        self._prune(minute)
        return sum(
            n
            for counts in self._minutes.values()
            for kind, n in counts.items()
            if not kinds or kind in kinds
        )

    def _prune(self, minute: int) -> None:
        for old in [m for m in self._minutes if m <= minute - 60]:
            del self._minutes[old]

    def saw_remaining(self, remaining: int) -> None:
        """Heroku's ``RateLimit-Remaining`` on an answer."""
        self.remaining = remaining
        self._remaining_at = self.clock()

    def estimated_remaining(self) -> float | None:
        """The pool now: the last figure seen plus what Heroku has regained since."""
        if self.remaining is None:
            return None
        regained = max(0.0, self.clock() - self._remaining_at) * REGAIN_PER_SECOND
        return min(float(self.limit), self.remaining + regained)

    def back_off(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429, or an empty pool)."""
        self.quiet_until = max(self.quiet_until, self.clock() + seconds)

    def quiet_left(self) -> float:
        """Seconds of back-off left (0 when calls may go)."""
        return max(0.0, self.quiet_until - self.clock())

    def refresh_rate(self) -> float:
        """Count refreshes (formation lists) the account may send per hour now.

        The pool less the reserve, less what scaling and other reads took in
        the last hour (never under the floor), slowed in proportion when the
        pool has fallen under the reserve.
        """
        rate = self.limit * (1 - self.reserve) - self.used("scale", "other")
        rate = max(rate, self.limit * FLOOR_SHARE)
        left = self.estimated_remaining()
        reserve = self.limit * self.reserve
        if left is not None and left < reserve:
            rate *= max(left / reserve, SLOWEST)
        return rate

    def hold_refreshes(self) -> bool:
        """The pool is nearly empty: refreshes wait, what is left goes to scaling."""
        left = self.estimated_remaining()
        return left is not None and left < self.limit * self.reserve * HOLD_SHARE


@dataclass
class _Read:
    """A list being fetched (single flight), or fetched: its result, when, for which state."""

    generation: int
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: ScalerError | None = None
    at: float = 0.0
    seen_by: set[str] = field(default_factory=set)  # formations this answer was given to

    def outcome(self) -> Any:
        if self.error is not None:
            raise _copy(self.error)
        return self.value


@dataclass
class _Batch:
    """Process types of one app to scale together; filled during the window, then sent."""

    updates: dict[str, int]
    sent: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    answer: list[Any] | None = None
    error: ScalerError | None = None
    singly: bool = False  # the batch was refused as a whole: each caller sends its own


class HerokuAccount:
    """Every formation of this process on one (API URL, API key): one client, one budget.

    Thread-safe; calls for different formations may run at once on different
    threads. Get one with :func:`account_for` (shared by key) or build one
    with an injected ``client`` (a mock transport in tests).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        limit: int = LIMIT_PER_HOUR,
        reserve: float = RESERVE_SHARE,
        fresh: float = FRESH_SECONDS,
        batch_window: float = BATCH_WINDOW,
        deadline: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.fresh = fresh
        self.batch_window = batch_window
        self._clock = clock
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)
        self.budget = RequestBudget(clock, limit=limit, reserve=reserve)
        self._client = http.bound(client) if client else http.client(timeout=deadline)
        self._headers = {
            "Accept": ACCEPT,
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"autoscalebot/{__version__}",
        }
        self._formations: dict[tuple[str, str], int] = {}  # (app, type) -> scalers using it
        self._reads: dict[str, _Read] = {}  # path -> in flight or last fetched
        self._generation: dict[str, int] = {}  # app -> scales so far (a list from before is stale)
        self._batches: dict[str, _Batch] = {}  # app -> batch still collecting
        self._shared = 0  # count refreshes answered by a list fetched for another
        self._dyno_apps: set[str] = set()  # apps whose dyno list is read (readiness)
        self._users = 0
        self._registry_key: tuple[str, str] | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<HerokuAccount {self.base_url} formations={len(self._formations)}>"

    # ---- who uses the account ----

    def join(self, app: str, process_type: str) -> None:
        """A formation starts using the account (a scaler was built)."""
        with self._lock:
            key = (app, process_type)
            self._formations[key] = self._formations.get(key, 0) + 1
            self._users += 1

    def leave(self, app: str, process_type: str) -> bool:
        """A formation stops; True when it was the last user (the account is closed then)."""
        with self._lock:
            key = (app, process_type)
            if self._formations.get(key, 0) <= 1:
                self._formations.pop(key, None)
            else:
                self._formations[key] -= 1
            self._users -= 1
            last = self._users <= 0
        if last:
            self.close()
        return last

    def close(self) -> None:
        """Close the shared client."""
        self.closed = True
        self._client.close()

    # ---- reads ----

    def quantity(
        self, app: str, process_type: str, *, deadline: float, kind: str = "refresh"
    ) -> int:
        """``quantity`` of ``process_type``: from the app's formation list when it is shared.

        A process type that is the only one of its app on the account reads
        ``GET /apps/{app}/formation/{type}``: as cheap as the list, a
        smaller answer, and a 404 that names the type. ``kind`` is
        ``refresh`` for a periodic re-read (paced by the budget) or
        ``scale`` for the read that confirms a scale (never paced).
        """
        with self._lock:
            alone = {t for (a, t) in self._formations if a == app} <= {process_type}
        if alone:
            path = f"/apps/{quote(app, safe='')}/formation/{quote(process_type, safe='')}"
            return _quantity(self._read(app, path, kind, deadline))
        body = self.formation_list(app, deadline=deadline, kind=kind)
        for formation in body:
            if isinstance(formation, dict) and formation.get("type") == process_type:
                return _quantity(formation)
        raise ScalerError(
            f"Heroku's formation list of {app} has no process type {process_type!r} "
            f"(check HEROKU_APP_NAME and PROCESS_TYPE)",
            kind="not_found",
        )

    def formation_list(self, app: str, *, deadline: float, kind: str = "refresh") -> list[Any]:
        """The app's formation list, shared by its process types within the refresh period."""
        body = self._read(app, f"/apps/{quote(app, safe='')}/formation", kind, deadline)
        if not isinstance(body, list):
            raise ScalerError("Heroku answered the formation list without a list", kind="protocol")
        return body

    def app_info(self, app: str, *, deadline: float) -> Any:
        """``GET /apps/{app}`` (shared by the app's formations for a second)."""
        return self._read(app, f"/apps/{quote(app, safe='')}", "other", deadline)

    def dynos(self, app: str, process_type: str, *, deadline: float) -> Any:
        """``GET /apps/{app}/dynos``: the first page, 200 dynos of every type.

        One list serves the app's process types within the refresh period,
        each of them once: dynos boot and crash between scales, so a
        formation that asks again gets a new list. Paced like a refresh.
        """
        path = f"/apps/{quote(app, safe='')}/dynos"
        with self._lock:
            self._dyno_apps.add(app)
        return self._read(app, path, "refresh", deadline, once_for=process_type)

    def _read(
        self, app: str, path: str, kind: str, deadline: float, *, once_for: str | None = None
    ) -> Any:
        """A GET shared by every caller within its freshness, and by those who come while it runs."""
        with self._lock:
            now = self._clock()
            generation = self._generation.get(app, 0)
            read = self._reads.get(path)
            current = read is not None and read.generation == generation
            again = once_for is not None and read is not None and once_for in read.seen_by
            if current and read is not None and read.done.is_set() and not read.error:
                age = now - read.at
                good_for = self._refresh_interval_locked() if kind == "refresh" else self.fresh
                if (not again and age < max(self.fresh, good_for)) or (
                    kind == "refresh" and self.budget.hold_refreshes()
                ):
                    if kind == "refresh":
                        self._shared += 1
                    if once_for is not None:
                        read.seen_by.add(once_for)
                    return read.value
            if current and read is not None and not read.done.is_set():
                leader = False
                if kind == "refresh":
                    self._shared += 1
            else:
                read = _Read(generation)
                self._reads[path] = read
                leader = True
            if once_for is not None:
                read.seen_by.add(once_for)
        if not leader:
            if not read.done.wait(deadline + 1.0):
                raise ScalerError(
                    f"Heroku API timed out after {deadline:g} s (GET {path})", kind="network"
                )
            return read.outcome()
        try:
            read.value = self._call("GET", path, kind, deadline)
        except ScalerError as exc:
            read.error = exc
        finally:
            with self._lock:
                read.at = self._clock()
                if read.error is not None and self._reads.get(path) is read:
                    del self._reads[path]  # an error is shared by those waiting, not kept
            read.done.set()
        return read.outcome()

    # ---- scaling ----

    def scale(self, app: str, process_type: str, quantity: int, *, deadline: float) -> int:
        """Set ``quantity`` of ``process_type``: batched with the app's other types scaled now."""
        with self._lock:
            batch = self._batches.get(app)
            if batch is not None and not batch.sent and process_type not in batch.updates:
                batch.updates[process_type] = quantity
                self._joined.notify_all()
                leader = False
            else:
                batch = _Batch({process_type: quantity})
                types = {t for (a, t) in self._formations if a == app}
                others = len(types - {process_type})
                if others:  # a lone formation of its app sends at once
                    self._batches[app] = batch
                    self._joined.wait_for(
                        lambda: len(batch.updates) > others, timeout=self.batch_window
                    )
                    if self._batches.get(app) is batch:
                        del self._batches[app]
                batch.sent = True
                leader = True
        if leader:
            self._send(app, batch, deadline)
        elif not batch.done.wait(self.batch_window + deadline + 1.0):
            raise ScalerError(
                f"Heroku API timed out after {deadline:g} s (PATCH /apps/{app}/formation)",
                kind="network",
            )
        if batch.singly:
            return self._scale_one(app, process_type, quantity, deadline)
        if batch.error is not None:
            raise _copy(batch.error)
        assert batch.answer is not None
        for formation in batch.answer:
            if isinstance(formation, dict) and formation.get("type") == process_type:
                return _quantity(formation)
        raise ScalerError(
            f"Heroku's batch answer for {app} has no process type {process_type!r}",
            kind="protocol",
        )

    def _send(self, app: str, batch: _Batch, deadline: float) -> None:
        try:
            if len(batch.updates) == 1:
                ((process_type, quantity),) = batch.updates.items()
                batch.answer = [
                    self._patch_one(app, process_type, quantity, deadline) | {"type": process_type}
                ]
                return
            updates = [{"type": t, "quantity": q} for t, q in batch.updates.items()]
            path = f"/apps/{quote(app, safe='')}/formation"
            answer = self._call("PATCH", path, "scale", deadline, {"updates": updates})
            if not isinstance(answer, list):
                raise ScalerError(
                    "Heroku answered the batch formation update without a list", kind="protocol"
                )
            batch.answer = answer
        except ScalerError as exc:
            # A batch is all or nothing: one type Heroku refuses (a missing
            # type, an Eco app past one dyno) must not fail the others.
            batch.singly = len(batch.updates) > 1 and exc.kind in ("invalid", "not_found")
            batch.error = exc
        finally:
            self._scaled(app)
            batch.done.set()

    def _scale_one(self, app: str, process_type: str, quantity: int, deadline: float) -> int:
        try:
            return _quantity(self._patch_one(app, process_type, quantity, deadline))
        finally:
            self._scaled(app)

    def _patch_one(self, app: str, process_type: str, quantity: int, deadline: float) -> Any:
        path = f"/apps/{quote(app, safe='')}/formation/{quote(process_type, safe='')}"
        answer = self._call("PATCH", path, "scale", deadline, {"quantity": quantity})
        if not isinstance(answer, dict):
            raise ScalerError("Heroku answered without a formation quantity", kind="protocol")
        return answer

    def _scaled(self, app: str) -> None:
        """After a scale of ``app`` (done or not), no list read before it answers a read."""
        with self._lock:
            self._generation[app] = self._generation.get(app, 0) + 1

    # ---- pacing and status ----

    def refresh_interval(self) -> float:
        """The shortest period at which each formation should re-read its count.

        Every app costs one formation list per period, so the account's
        refreshes together stay inside :meth:`RequestBudget.refresh_rate`.
        """
        with self._lock:
            return self._refresh_interval_locked()

    def _refresh_interval_locked(self) -> float:
        apps = {a for (a, _) in self._formations}
        # A round reads each app's formation list, and its dyno list where
        # readiness is asked for.
        reads = max(1, len(apps) + len(apps & self._dyno_apps))
        return reads * 3600.0 / self.budget.refresh_rate()

    def status(self) -> dict[str, Any]:
        """The budget for the console and the status line (no secret in it)."""
        with self._lock:
            return {
                "used_last_hour": self.budget.used(),
                "limit": self.budget.limit,
                "remaining": self.budget.remaining,
                "formations": len(self._formations),
                "apps": len({a for (a, _) in self._formations}),
                "refresh_every_s": round(self._refresh_interval_locked(), 1),
                "shared_reads": self._shared,
                "backoff_s": round(self.budget.quiet_left(), 1),
            }

    # ---- the wire ----

    def _call(
        self, method: str, path: str, kind: str, deadline: float, body: Any | None = None
    ) -> Any:
        with self._lock:
            wait = self.budget.quiet_left()
            if wait <= 0:
                self.budget.record(kind)
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
                self.base_url + path,
                json=body,
                headers=self._headers,
                deadline=deadline,
                max_bytes=MAX_BODY_BYTES,
                truncate=True,  # an error's status still counts; its page need not be whole
            )
        except http.CallFailed as exc:
            if exc.kind == "timeout":
                raise ScalerError(f"Heroku API {exc} ({what})", kind="network") from None
            raise ScalerError(f"Heroku API unreachable ({what}): {exc}", kind="network") from None
        remaining = response.headers.get("RateLimit-Remaining", "").strip()
        with self._lock:
            if remaining.isdigit():
                self.budget.saw_remaining(int(remaining))
            if response.status_code == 429 or self.budget.remaining == 0:
                pause = _retry_after(response) or RATE_LIMIT_BACKOFF
                self.budget.back_off(pause)
                log.warning("Heroku rate limit reached; no calls for %.0f s", pause)
        if response.status_code >= 400:
            raise _error(response, what)
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


def _quantity(body: Any) -> int:
    quantity = body.get("quantity") if isinstance(body, dict) else None
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ScalerError("Heroku answered without a formation quantity", kind="protocol")
    return quantity


def _retry_after(response: http.Reply) -> float | None:
    """A ``Retry-After`` in seconds (whole, at most an hour); None when absent or odd."""
    value = response.headers.get("Retry-After", "").strip()
    if not value.isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER) or None


def _error(response: http.Reply, what: str) -> ScalerError:
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
    retry = (_retry_after(response) or RATE_LIMIT_BACKOFF) if status == 429 else None
    return ScalerError(text, kind=kind, retry_after=retry)


# ---- the registry: one account per (API URL, key) in this process ----

_registry: dict[tuple[str, str], HerokuAccount] = {}
_registry_lock = threading.Lock()


def account_for(base_url: str, api_key: str, app: str, process_type: str) -> HerokuAccount:
    """The process's account for this URL and key, joined by formation ``app``/``process_type``.

    Indexed by a hash of the key (the key itself stays in the account's
    headers only). Give it back with :func:`leave`; the last formation to
    leave closes the account's client.
    """
    key = (base_url.rstrip("/"), hashlib.sha256(api_key.encode()).hexdigest())
    with _registry_lock:
        account = _registry.get(key)
        if account is None or account.closed:
            account = HerokuAccount(base_url, api_key)
            account._registry_key = key
            _registry[key] = account
        account.join(app, process_type)
    return account


def leave(account: HerokuAccount, app: str, process_type: str) -> None:
    """Formation ``app``/``process_type`` stops using ``account`` (closed after the last)."""
    with _registry_lock:
        last = account.leave(app, process_type)
        if last and _registry.get(account._registry_key or ("", "")) is account:
            del _registry[account._registry_key or ("", "")]


def accounts() -> list[HerokuAccount]:
    """The accounts open in this process (for the status and tests)."""
    with _registry_lock:
        return list(_registry.values())

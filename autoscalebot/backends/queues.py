"""Measurement backends for job queues in Redis (RQ, Celery, a plain list), and for
the request figures the web middleware collects.

A job-queue probe reads, per named queue, how many jobs wait (depth) and how
long the oldest has waited (latency), in one bounded Redis round trip per
beat (a small Lua script: whatever a queue holds, only a few short values
come back). The ``Measurement`` it returns carries each queue in ``queues``
and the longest wait in ``latency_ms``, so logs and the console's latency
line show it.

Where a queue's oldest job carries no enqueue time (a plain list; Celery
messages sent without :func:`stamp_publish_time`), its age is the time the
bot has seen that same job at the head of the queue: a lower bound that is
right to within one beat and immune to clock skew.

Nothing here raises for a broken Redis: an unreachable server, a wrong
password, a queue that does not exist or a key of the wrong type is a
``Measurement`` with ``error`` set, which no policy scales on. The URL's
password never reaches a message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from autoscalebot.backends.base import BaseBackend, Measurement, QueueSample, RequestFigures
from autoscalebot.config.settings import ConfigError, Settings

_REPLY_CHARS = 64  # a stamp or a type name; longer is not ours
_SCHEMES = ("redis", "rediss", "unix")

# Per key: its type, length, the head job's stamp (or false) and a digest of the head job.
# ``end`` is the list index of the oldest job: 0 (RPUSH + LPOP: RQ) or -1 (LPUSH + BRPOP: Celery).
_HEAD = """
local function head(key, end_, stamp_of)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'list' then return {kind, 0, false, false} end
  local n = redis.call('LLEN', key)
  if n == 0 then return {kind, 0, false, false} end
  local job = redis.call('LINDEX', key, end_)
  local stamp = stamp_of(job)
  if stamp then stamp = string.sub(tostring(stamp), 1, 64) end
  return {kind, n, stamp, redis.sha1hex(job)}
end
"""

_RQ_SCRIPT = (
    _HEAD
    + """
-- KEYS: the queues' keys. ARGV[1]: the job key prefix; ARGV[2]: RQ's set of queue keys.
local function enqueued_at(id)
  if string.len(id) > 256 then return false end
  return redis.call('HGET', ARGV[1] .. id, 'enqueued_at')
end
local out = {}
for _, key in ipairs(KEYS) do
  local h = head(key, 0, enqueued_at)
  h[5] = redis.call('SISMEMBER', ARGV[2], key)
  table.insert(out, h)
end
return out
"""
)

_CELERY_SCRIPT = (
    _HEAD
    + """
-- KEYS: per queue ARGV[1] keys: its priority lists, then its kombu binding set.
local function published_at(message)
  local ok, m = pcall(cjson.decode, message)
  if ok and type(m) == 'table' and type(m.properties) == 'table' then
    local at = m.properties.published_at
    if type(at) == 'number' or type(at) == 'string' then return at end
  end
  return false
end
local per = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  if i % per == 0 then
    table.insert(out, {'binding', redis.call('EXISTS', key), false, false})
  else
    table.insert(out, head(key, -1, published_at))
  end
end
return out
"""
)

_LIST_SCRIPT = (
    _HEAD
    + """
-- KEYS: the lists. Both ends are read: whichever way the list is used, the
-- job seen longest at an end is the oldest one.
local out = {}
local function none(_) return false end
for _, key in ipairs(KEYS) do
  table.insert(out, head(key, 0, none))
  table.insert(out, head(key, -1, none))
end
return out
"""
)

# Kombu's Redis transport: priority levels live in lists named queue + SEP + level.
_KOMBU_SEP = "\x06\x16"
_KOMBU_LEVELS = ("3", "6", "9")


def redacted(url: str) -> str:
    """``url`` without its user and password: ``redis://host:port/0``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def stamp_publish_time(*_: Any, properties: dict[str, Any] | None = None, **__: Any) -> None:
    """A Celery ``before_task_publish`` receiver: stamps each message with its publish time.

    Connect it where your Celery app is defined, so the ``celery`` probe
    reads each queue's latency to the millisecond (without it, to within one
    beat)::

        from celery.signals import before_task_publish
        from autoscalebot.backends.queues import stamp_publish_time
        before_task_publish.connect(stamp_publish_time)
    """
    if properties is not None:
        properties["published_at"] = time.time()


class QueueProbe(BaseBackend):
    """Shared work of the job-queue probes: the connection, the script, the errors.

    Subclasses say which keys to read and how to turn the script's reply
    into :class:`QueueSample` values.
    """

    kind = "queue"
    default_queues: tuple[str, ...] = ()
    url_env: tuple[str, ...] = ("REDIS_URL",)
    script = _LIST_SCRIPT

    def __init__(
        self,
        settings: Settings,
        *,
        client: Any = None,
        wall: Callable[[], float] = time.time,
        **_: Any,
    ) -> None:
        super().__init__(settings)
        url = settings.redis_url or next(
            (os.environ[name] for name in self.url_env if os.environ.get(name)), None
        )
        if not url:
            where = " or ".join(f"${n}" for n in self.url_env)
            raise ConfigError(
                "REDIS_URL",
                f"is required by the {self.kind} measurement backend",
                f"Set AUTOSCALE_REDIS_URL (default {where}), e.g. redis://:password@host:6379/0.",
            )
        self.url = url
        self.where = redacted(url)
        self._check_url(url)
        self.queues = settings.queues or self.default_queues
        if not self.queues:
            raise ConfigError(
                "QUEUES",
                f"is required by the {self.kind} measurement backend",
                "Name the queues to measure, e.g. QUEUES=high,default.",
            )
        self._password = urlsplit(url).password or ""
        self._wall = wall
        self._seen: dict[tuple[str, str], float] = {}  # (key, head digest) -> first seen (wall)
        self._client = client if client is not None else self._connect(url, settings)
        self._script = self._client.register_script(self.script)

    # ---- set-up ----

    def _check_url(self, url: str) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in _SCHEMES:
            raise ConfigError(
                "REDIS_URL",
                f"{self.where} is not a Redis URL",
                "Write it like redis://:password@host:6379/0 (rediss:// for TLS).",
            )

    def _connect(self, url: str, settings: Settings) -> Any:
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "MEASUREMENT_BACKEND",
                f"the {self.kind} backend needs the redis package",
                "pip install 'autoscalebot[queues]'.",
            ) from None
        timeout = settings.heartbeat_timeout
        try:
            return redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry_on_timeout=False,
                client_name="autoscalebot",
            )
        except ValueError as exc:
            raise ConfigError("REDIS_URL", f"cannot be read ({self._scrub(str(exc))})") from None

    def configure(self, settings: Settings) -> None:
        """Queues and URL are fixed at start; nothing to take at run time."""

    # ---- one beat ----

    def keys(self) -> list[str]:
        """The Redis keys the script reads, in order."""
        return list(self.queues)

    def args(self) -> list[str]:
        return []

    def measure(self) -> Measurement:
        try:
            reply = self._script(keys=self.keys(), args=self.args())
        except Exception as exc:
            return Measurement(None, error=self._explain(exc))
        now = self._wall()
        try:
            samples, problem = self.samples(reply, now)
        except (TypeError, ValueError, IndexError):
            return Measurement(None, error=f"Redis at {self.where} sent an unexpected reply")
        if problem:
            return Measurement(None, error=problem, queues=tuple(samples))
        worst = max((s.latency_ms or 0.0 for s in samples), default=0.0)
        return Measurement(worst, queues=tuple(samples))

    def samples(self, reply: Any, now: float) -> tuple[list[QueueSample], str | None]:
        """The script's reply as samples, and what is wrong with it (or None)."""
        raise NotImplementedError

    # ---- helpers for subclasses ----

    def _heads(self, reply: Any) -> list[tuple[str, int, str | None, str | None]]:
        """Each key's (type, length, stamp, digest), decoded and bounded."""
        out = []
        for row in reply:
            kind, n, stamp, digest = (list(row) + [None] * 4)[:4]
            out.append((_text(kind), int(n or 0), _text(stamp) or None, _text(digest) or None))
        return out

    def _wrong_type(self, name: str, kind: str) -> str | None:
        if kind in ("list", "none"):
            return None
        return f"queue {name!r}: the Redis key holds a {kind}, not a list (check QUEUES)"

    def _age_ms(
        self, key: str, digest: str | None, stamp: float | None, now: float
    ) -> float | None:
        """The oldest job's wait: from its stamp, else from when the bot first saw it."""
        if digest is None:
            return None
        if stamp is not None:
            return (
                max(0.0, now - stamp) * 1000.0
            )  # a clock ahead of ours is no wait, not a negative one
        first = self._seen.setdefault((key, digest), now)
        return max(0.0, now - first) * 1000.0

    def _forget_gone(self, present: Iterable[tuple[str, str]]) -> None:
        keep = set(present)
        for seen in [s for s in self._seen if s not in keep]:
            del self._seen[seen]

    def _scrub(self, text: str) -> str:
        text = text.replace(self.url, self.where)
        if self._password:
            text = text.replace(self._password, "***")
        text = " ".join(text.split())
        return text if len(text) <= 200 else text[:200] + "..."

    def _explain(self, exc: Exception) -> str:
        """One line for what went wrong talking to Redis, with no secret in it."""
        name = type(exc).__name__
        text = self._scrub(str(exc))
        low = text.lower()
        auth = name in ("AuthenticationError", "AuthenticationRequiredError")
        if (auth and not self._password) or "noauth" in low or "authentication required" in low:
            return f"Redis at {self.where} needs a password: put it in REDIS_URL"
        if auth or "wrongpass" in low or "invalid password" in low:
            return f"Redis at {self.where} refused the password in REDIS_URL"
        if name == "TimeoutError":
            return f"Redis at {self.where} did not answer within {self._timeout_text()}"
        if name == "ConnectionError":
            return f"Redis at {self.where} is unreachable ({text})"
        if "noscript" in low or "unknown command" in low or "noperm" in low:
            return f"Redis at {self.where} refused a read-only script (EVAL): {text}"
        return f"Redis at {self.where}: {name}: {text}"

    def _timeout_text(self) -> str:
        settings = self.settings
        return f"{settings.heartbeat_timeout:g} s" if settings is not None else "its timeout"

    def close(self) -> None:
        # Closing a broken connection must not stop the bot's exit.
        with contextlib.suppress(Exception):
            self._client.close()


class RQProbe(QueueProbe):
    """RQ queues: each ``rq:queue:<name>`` list, and each head job's ``enqueued_at``.

    A queue RQ has never seen (not in its ``rq:queues`` set, no list) is an
    error: a misspelt name would otherwise read as an idle queue forever.
    """

    kind = "rq"
    default_queues = ("default",)
    url_env = ("RQ_REDIS_URL", "REDIS_URL")
    script = _RQ_SCRIPT

    def keys(self) -> list[str]:
        return [f"rq:queue:{q}" for q in self.queues]

    def args(self) -> list[str]:
        return ["rq:job:", "rq:queues"]

    def samples(self, reply: Any, now: float) -> tuple[list[QueueSample], str | None]:
        samples, present, unknown = [], [], []
        for name, key, row in zip(self.queues, self.keys(), reply, strict=True):
            kind, n, stamp, digest = self._heads([row[:4]])[0]
            wrong = self._wrong_type(name, kind)
            if wrong:
                return [], wrong
            if kind == "none" and not int(row[4] or 0):
                unknown.append(name)
            if digest:
                present.append((key, digest))
            samples.append(QueueSample(name, n, self._age_ms(key, digest, _rq_time(stamp), now)))
        self._forget_gone(present)
        if unknown:
            names = ", ".join(repr(u) for u in unknown)
            return samples, f"RQ has no queue {names} in Redis at {self.where} (check QUEUES)"
        return samples, None


class CeleryProbe(QueueProbe):
    """Celery queues on a Redis broker: the lists kombu keeps, priority levels included.

    ``REDIS_URL`` is the broker URL (default ``$CELERY_BROKER_URL``, then
    ``$REDIS_URL``); a broker that is not Redis is refused at start. Jobs a
    worker has already prefetched are no longer in the list: run workers
    with ``worker_prefetch_multiplier = 1`` (and ``task_acks_late``) so the
    queue shows what really waits.
    """

    kind = "celery"
    default_queues = ("celery",)
    url_env = ("CELERY_BROKER_URL", "REDIS_URL")
    script = _CELERY_SCRIPT

    def _check_url(self, url: str) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in _SCHEMES:
            raise ConfigError(
                "REDIS_URL",
                f"the Celery broker is {scheme or 'not a URL'}://, not Redis",
                "The celery backend reads a Redis broker's queues; point REDIS_URL at it "
                "(for RabbitMQ, measure with a backend of your own).",
            )

    def keys(self) -> list[str]:
        keys = []
        for q in self.queues:
            keys.append(q)
            keys.extend(f"{q}{_KOMBU_SEP}{level}" for level in _KOMBU_LEVELS)
            keys.append(f"_kombu.binding.{q}")
        return keys

    def args(self) -> list[str]:
        return [str(len(_KOMBU_LEVELS) + 2)]

    def samples(self, reply: Any, now: float) -> tuple[list[QueueSample], str | None]:
        per = len(_KOMBU_LEVELS) + 2
        keys = self.keys()
        samples, present, unknown = [], [], []
        for i, name in enumerate(self.queues):
            rows = self._heads(reply[i * per : (i + 1) * per])
            depth, ages, exists = 0, [], False
            for key, (kind, n, stamp, digest) in zip(keys[i * per :], rows[:-1], strict=False):
                wrong = self._wrong_type(name, kind)
                if wrong:
                    return [], wrong
                exists = exists or kind == "list"
                depth += n
                if digest:
                    present.append((key, digest))
                    ages.append(self._age_ms(key, digest, _float(stamp), now))
            bound = rows[-1][1] > 0
            if not exists and not bound:
                unknown.append(name)
            known = [a for a in ages if a is not None]
            samples.append(QueueSample(name, depth, max(known) if known else None))
        self._forget_gone(present)
        if unknown:
            names = ", ".join(repr(u) for u in unknown)
            return samples, (
                f"Celery has no queue {names} on the broker at {self.where} "
                "(no list, and no worker has bound it; check QUEUES)"
            )
        return samples, None


class RedisListProbe(QueueProbe):
    """Plain Redis lists used as job queues: depth is the length; latency is observed.

    Each item's age is how long the bot has seen it at either end of the
    list, so it works whichever end producers push to. A missing key is an
    empty queue (Redis deletes empty lists); a key of another type is an error.
    """

    kind = "redis-list"

    def samples(self, reply: Any, now: float) -> tuple[list[QueueSample], str | None]:
        rows = self._heads(reply)
        samples, present = [], []
        for i, name in enumerate(self.queues):
            ages = []
            for side, (kind, _n, _stamp, digest) in zip(
                ("0", "-1"), rows[2 * i : 2 * i + 2], strict=True
            ):
                wrong = self._wrong_type(name, kind)
                if wrong:
                    return [], wrong
                if digest:
                    present.append((f"{name}\x00{side}", digest))
                    ages.append(self._age_ms(f"{name}\x00{side}", digest, None, now))
            known = [a for a in ages if a is not None]
            samples.append(QueueSample(name, rows[2 * i][1], max(known) if known else None))
        self._forget_gone(present)
        return samples, None


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if isinstance(value, bytes):
        value = value[:_REPLY_CHARS].decode("utf-8", "replace")
    return str(value)[:_REPLY_CHARS]


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _rq_time(text: str | None) -> float | None:
    """RQ's ``2026-12-01T05:12:00.123456Z`` (UTC) as epoch seconds."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


# ---- the web side: figures from the request middleware ----

MAX_FIGURES_BYTES = 16 * 1024


class RequestFiguresProbe(BaseBackend):
    """Times the heartbeat and reads the request figures the middleware returns with it.

    Asks ``HEARTBEAT_URL`` for ``application/json``; the middleware's
    endpoint (or the Django view) answers with what it saw since the last
    read (see :mod:`autoscalebot.middleware`). ``latency_ms`` stays the
    beat's own time, so every existing policy works unchanged, and
    ``requests`` adds the load, queue time and service time. Each read
    reaches one dyno (the router picks it): its figures stand for the
    formation, as one sample of it.
    """

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings)
        from autoscalebot.backends.probe import HeartbeatProbe

        self._probe = HeartbeatProbe(settings, headers={"Accept": "application/json"}, **kwargs)

    def configure(self, settings: Settings) -> None:
        self.settings = settings
        self._probe.configure(settings)

    def measure(self) -> Measurement:
        # The heartbeat probe's call: its total deadline, body cap and error words.
        beat, body = self._probe.fetch()
        if beat.broken:
            return beat
        figures = parse_figures(body[: MAX_FIGURES_BYTES + 1])
        return dataclasses.replace(beat, requests=figures)

    def close(self) -> None:
        self._probe.close()


def parse_figures(body: bytes) -> RequestFigures | None:
    """The middleware's JSON as :class:`RequestFigures`; None for ``ok`` or anything else."""
    if len(body) > MAX_FIGURES_BYTES:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("requests"), int):
        return None

    def ms(section: str, key: str) -> float | None:
        part = data.get(section)
        value = part.get(key) if isinstance(part, dict) else None
        return float(value) if isinstance(value, int | float) and value >= 0 else None

    seconds = data.get("seconds")
    busy = data.get("busy")
    return RequestFigures(
        requests=max(0, data["requests"]),
        seconds=float(seconds) if isinstance(seconds, int | float) and seconds > 0 else 0.0,
        queue_p50_ms=ms("queue_ms", "p50"),
        queue_p95_ms=ms("queue_ms", "p95"),
        queue_max_ms=ms("queue_ms", "max"),
        service_p50_ms=ms("service_ms", "p50"),
        service_p95_ms=ms("service_ms", "p95"),
        service_mean_ms=ms("service_ms", "mean"),
        busy=busy if isinstance(busy, int) and busy >= 0 else 0,
    )

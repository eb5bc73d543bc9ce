"""The heartbeat view the bot times: it touches the database, the cache and the disk.

Healthy: ``200`` with the body ``ok`` (or, to a client that accepts
``application/json``, the request figures of :mod:`autoscalebot.middleware`
since the last such read, with ``"status": "ok"``). When a part fails: ``503`` with a short
body naming only the part (``unhealthy: cache``); the exception goes to the
``autoscalebot.views`` logger, never into the response. Each part's time is in
the ``Server-Timing`` header (``db;dur=0.21, cache;dur=0.05, disk;dur=0.09``,
milliseconds), so a slow beat can be traced to its cause.

Optional Django settings (read on every request, so ``override_settings`` works):

* ``AUTOSCALE_HEARTBEAT_DATABASE``: the database alias to query (default
  ``"default"``; ``None`` skips the database).
* ``AUTOSCALE_HEARTBEAT_CACHE``: the cache alias to write and read (default
  ``"default"``; ``None`` skips the cache, as does a ``DummyCache``).
* ``AUTOSCALE_HEARTBEAT_DIR``: the folder for the disk check's small temporary
  file (default: the system temp folder; ``None`` skips the disk).
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.dummy import DummyCache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

try:
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # Django < 5.1: no LoginRequiredMiddleware to opt out of

    def login_not_required(view_func):  # type: ignore[no-untyped-def]
        return view_func


log = logging.getLogger(__name__)

_DEFAULT = object()


class HeartbeatCheckError(Exception):
    """A part answered, but not with what was written or asked."""


def _option(name: str, default: object) -> object:
    return getattr(settings, f"AUTOSCALE_{name}", default)


def check_database() -> bool:
    """One round trip to the database; False when skipped."""
    alias = _option("HEARTBEAT_DATABASE", DEFAULT_DB_ALIAS)
    if alias is None or not settings.DATABASES:
        return False
    connection = connections[str(alias)]
    if connection.settings_dict.get("ENGINE") == "django.db.backends.dummy":
        # A project without a database: Django fills in this stand-in itself.
        return False
    with connection.cursor() as cursor:
        # bare_select_suffix is " FROM DUAL" on Oracle, "" elsewhere.
        cursor.execute(f"SELECT 1{connection.features.bare_select_suffix}")
        row = cursor.fetchone()
    if row is None or row[0] != 1:
        raise HeartbeatCheckError(f"SELECT 1 returned {row!r}")
    return True


def check_cache() -> bool:
    """Set, get and delete a key of its own; False when skipped."""
    alias = _option("HEARTBEAT_CACHE", DEFAULT_CACHE_ALIAS)
    if alias is None:
        return False
    cache = caches[str(alias)]
    if isinstance(cache, DummyCache):
        return False  # a project without a cache: nothing to check
    # A unique key per request: concurrent beats (several dynos, one shared
    # cache) never read each other's value.
    key = f"autoscalebot:heartbeat:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    try:
        cache.set(key, value, timeout=60)
        got = cache.get(key)
    finally:
        cache.delete(key)
    if got != value:
        raise HeartbeatCheckError("the cache did not return the value just set")
    return True


def check_disk() -> bool:
    """Write, read back and delete a small temporary file; False when skipped."""
    directory = _option("HEARTBEAT_DIR", _DEFAULT)
    if directory is None:
        return False
    folder = tempfile.gettempdir() if directory is _DEFAULT else str(directory)
    payload = secrets.token_bytes(64)
    fd, path = tempfile.mkstemp(prefix="autoscalebot-heartbeat-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        with open(path, "rb") as back:
            got = back.read()
    finally:
        os.unlink(path)
    if got != payload:
        raise HeartbeatCheckError("the file read back differs from the one written")
    return True


CHECKS: tuple[tuple[str, Callable[[], bool]], ...] = (
    ("db", check_database),
    ("cache", check_cache),
    ("disk", check_disk),
)


@login_not_required  # the bot never logs in, even under LoginRequiredMiddleware
@csrf_exempt
@transaction.non_atomic_requests  # one failed query must not poison an ATOMIC_REQUESTS transaction
@never_cache
@require_safe
def heartbeat(request: HttpRequest) -> HttpResponse:
    """200 ``ok`` when the database, cache and disk all work; 503 naming what failed."""
    failed: list[str] = []
    timings: list[str] = []
    for name, check in CHECKS:
        started = time.perf_counter()
        try:
            ran = check()
        except Exception:
            log.exception("heartbeat: the %s check failed", name)
            failed.append(name)
            timings.append(f'{name};desc="failed";dur={(time.perf_counter() - started) * 1000:.3f}')
            continue
        if ran:
            timings.append(f"{name};dur={(time.perf_counter() - started) * 1000:.3f}")
        else:
            timings.append(f'{name};desc="skipped"')
    if "application/json" in request.headers.get("Accept", ""):
        # The ``requests`` measurement backend: this process's request figures since
        # its last read (autoscalebot.middleware), next to the same verdict.
        from autoscalebot.middleware import figures_json

        body = figures_json(
            reader_counted=True,
            status="unhealthy" if failed else "ok",
            failed=failed,
        )
        response = HttpResponse(
            body, status=503 if failed else 200, content_type="application/json"
        )
    elif failed:
        response = HttpResponse(
            f"unhealthy: {', '.join(failed)}\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    else:
        response = HttpResponse("ok\n", content_type="text/plain; charset=utf-8")
    response["Server-Timing"] = ", ".join(timings)
    return response

"""Request queue time and service time: the middleware, its JSON, and the backend that reads it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from autoscalebot.backends.queues import RequestFiguresProbe, parse_figures
from autoscalebot.config import build_settings
from autoscalebot.middleware import (
    ASGIRequestTiming,
    RequestStats,
    WSGIRequestTiming,
    parse_request_start,
)

NOW = 1_764_565_000.0


@pytest.mark.parametrize(
    ("header", "queue_ms"),
    [
        (str(int((NOW - 0.25) * 1000)), 250.0),  # Heroku: milliseconds
        (f"t={NOW - 0.04:.3f}", 40.0),  # nginx: seconds
        (str(int((NOW - 0.5) * 1e6)), 500.0),  # microseconds
        (str(int((NOW + 2) * 1000)), 0.0),  # the router's clock ahead: no queue, not negative
        (str(int((NOW - 7200) * 1000)), None),  # two hours: a broken clock, not a queue
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_x_request_start_forms(header, queue_ms):
    got = parse_request_start(header, NOW)
    assert got == (None if queue_ms is None else pytest.approx(queue_ms, abs=1.5))


class Tick:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_stats_report_the_window_since_the_last_read_then_start_over():
    clock = Tick()
    stats = RequestStats(clock=clock, size=100)
    for i in range(10):
        stats.begin()
        stats.end(float(i * 10), 20.0 + i)
    stats.begin()  # one still in flight
    clock.t += 5.0
    figures = stats.read()
    assert figures["requests"] == 10 and figures["seconds"] == 5.0 and figures["rate"] == 2.0
    assert figures["queue_ms"] == {"p50": 40.0, "p95": 90.0, "max": 90.0}
    assert figures["service_ms"]["p50"] == 24.0 and figures["service_ms"]["mean"] == 24.5
    assert figures["busy"] == 1
    clock.t += 1.0
    again = stats.read()
    assert again["requests"] == 0 and again["queue_ms"]["p50"] is None and again["seconds"] == 1.0


def test_stats_memory_is_bounded_but_counts_are_exact():
    stats = RequestStats(size=50)
    for _ in range(10_000):
        stats.begin()
        stats.end(1.0, 1.0)
    assert len(stats._samples) == 50
    assert stats.read()["requests"] == 10_000


def test_stats_from_many_threads_lose_no_request_count():
    stats = RequestStats()

    def hammer():
        for _ in range(2_000):
            stats.begin()
            stats.end(None, 0.1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    reads = 0
    while any(t.is_alive() for t in threads):
        reads += stats.read()["requests"]
    for t in threads:
        t.join()
    reads += stats.read()["requests"]
    assert reads == 16_000


def hello_app(environ, start_response):
    time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_wsgi_app_on_loopback_read_by_the_requests_backend():
    stats = RequestStats()
    app = WSGIRequestTiming(hello_app, stats=stats)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        import httpx

        with httpx.Client() as client:
            for _ in range(5):
                start = str(int((time.time() - 0.3) * 1000))  # queued 300 ms at the router
                assert client.get(base + "/", headers={"X-Request-Start": start}).text == "hello"
        settings = build_settings(
            {"HEARTBEAT_URL": base + "/autoscalebot/figures/", "SCALING_BACKEND": "command"},
            require_platform=False,
        )
        probe = RequestFiguresProbe(settings)
        m = probe.measure()
        probe.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not m.broken and m.status == 200
    figures = m.requests
    assert figures is not None and figures.requests == 5
    assert 290 <= figures.queue_p50_ms <= 400
    assert figures.service_p50_ms >= 10
    assert figures.busy == 0


def test_asgi_app_records_and_serves_figures():
    stats = RequestStats()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})

    wrapped = ASGIRequestTiming(app, stats=stats)

    async def call(path, headers=()):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        await wrapped({"type": "http", "path": path, "headers": list(headers)}, receive, send)
        return sent

    start = str(int((time.time() - 0.1) * 1000)).encode()
    asyncio.run(call("/items", [(b"x-request-start", start)]))
    asyncio.run(call("/items"))
    sent = asyncio.run(call("/autoscalebot/figures/"))
    figures = parse_figures(sent[1]["body"])
    assert figures is not None and figures.requests == 2
    assert 90 <= figures.queue_p50_ms <= 200  # one request stamped; the other has no queue figure


def test_plain_ok_and_junk_are_no_figures():
    assert parse_figures(b"ok\n") is None
    assert parse_figures(b'{"requests": "many"}') is None
    assert parse_figures(b"[" * 20_000) is None
    assert parse_figures(b'{"requests": 3, "seconds": 1.5, "busy": -2}').busy == 0


DJANGO_SCRIPT = textwrap.dedent(
    """
    import json, time
    import django
    from django.conf import settings
    settings.configure(
        DEBUG=False, ALLOWED_HOSTS=["testserver"], SECRET_KEY="x",
        ROOT_URLCONF="autoscalebot.urls", INSTALLED_APPS=["autoscalebot"],
        MIDDLEWARE=["autoscalebot.middleware.DjangoRequestTimingMiddleware"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    )
    django.setup()
    from django.test import Client
    client = Client()
    stamp = str(int((time.time() - 0.2) * 1000))
    for _ in range(3):
        client.get("/autoscalebot/heartbeat/", HTTP_X_REQUEST_START=stamp)
    plain = client.get("/autoscalebot/heartbeat/")
    js = client.get("/autoscalebot/heartbeat/", HTTP_ACCEPT="application/json")
    print(json.dumps({"plain": plain.content.decode(), "json": json.loads(js.content)}))
    """
)


def test_django_middleware_and_the_heartbeat_views_json():
    pytest.importorskip("django")
    out = subprocess.run(
        [sys.executable, "-c", DJANGO_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["plain"] == "ok\n"  # existing clients see no change
    figures = result["json"]
    assert figures["status"] == "ok" and figures["requests"] == 4
    assert figures["busy"] == 0  # the read itself is not load
    assert 190 <= figures["queue_ms"]["max"] <= 400

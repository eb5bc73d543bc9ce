"""Fault matrix over real loopback servers: the real probe and Heroku client in the engine.

For every fault: the loop keeps beating, no count outside the bounds is
requested, the cause is reported once per episode, and recovery is reported
when the fault clears. Every wait is bounded in time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.config import build_settings
from autoscalebot.emulator.heartbeat import HeartbeatServer
from autoscalebot.emulator.heroku import HerokuEmulator
from autoscalebot.engine.engine import Engine
from autoscalebot.runtime import EngineThread

APP = "fault-app"
KEY = "fault-planted-key-77d1"
MIN, MAX = 1, 3


class Recorder:
    """A thread-safe event sink with bounded waits."""

    def __init__(self) -> None:
        self.events: list = []
        self._lock = threading.Lock()

    def __call__(self, event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: str, **match) -> list:
        with self._lock:
            return [
                e
                for e in self.events
                if e.kind == kind and all(getattr(e, k) == v for k, v in match.items())
            ]

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()


@pytest.fixture
def world():
    with HerokuEmulator(api_key=KEY) as heroku, HeartbeatServer() as beat:
        heroku.add_app(APP, web_url=beat.url + "/", formation={"web": 2})
        yield heroku, beat


def start_engine(heroku, beat, *, api_url=None, api_timeout=2.0, **overrides):
    settings = build_settings(
        {
            "HEROKU_APP_NAME": APP,
            "HEROKU_API_KEY": KEY,
            "HEROKU_API_URL": api_url or heroku.url,
            "HEARTBEAT_URL": beat.heartbeat_url,
            "HEARTBEAT_INTERVAL_IN_SECONDS": 0.1,
            "HEARTBEAT_TIMEOUT_IN_SECONDS": 0.3,
            "MAX_RESPONSE_TIME_IN_MS": 150,
            "MIN_RESPONSE_TIME_IN_MS": 1,
            "MIN_DYNOS": MIN,
            "MAX_DYNOS": MAX,
            "COUNT_REFRESH_IN_SECONDS": 0.3,
            "NOTIFY_ON_SCALE_FAILS": True,
            **overrides,
        }
    )
    recorder = Recorder()
    scaler = HerokuScaler(settings, client=httpx.Client(timeout=api_timeout))
    engine = Engine(settings, sink=recorder, scaler=scaler)
    runner = EngineThread(engine).start()
    return runner, recorder


def requested_counts(heroku) -> list[int]:
    return [p["quantity"] for p in heroku.patches(APP)]


def beats_keep_coming(rec: Recorder, n: int, timeout: float = 10.0) -> bool:
    have = len(rec.of("beat"))
    return rec.wait(lambda: len(rec.of("beat")) >= have + n, timeout)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode", ["hang", "reset", "endless", "redirect-loop"])
def test_heartbeat_failure_modes(world, mode):
    heroku, beat = world
    beat.set_mode(mode)
    runner, rec = start_engine(heroku, beat)
    try:
        assert beats_keep_coming(rec, 6)
        assert all(b.outcome == "fail" for b in rec.of("beat"))
        assert len(rec.of("trouble", source="probe")) == 1
        beat.set_mode("normal")
        beat.set(latency=0.05)
        assert rec.wait(lambda: rec.of("recovered", source="probe"))
        assert beats_keep_coming(rec, 3)
    finally:
        assert runner.stop(timeout=2.0)
    assert all(MIN <= q <= MAX for q in requested_counts(heroku))
    assert len(rec.of("trouble", source="probe")) == 1


@pytest.mark.parametrize("status", [404, 500, 503])
def test_heartbeat_error_statuses(world, status):
    heroku, beat = world
    beat.set(status=status)
    runner, rec = start_engine(heroku, beat)
    try:
        assert rec.wait(lambda: rec.of("scale"))
        assert rec.of("scale")[0].after == 3
        assert len(rec.of("trouble", source="probe")) == 1
        assert str(status) in rec.of("trouble", source="probe")[0].reason
    finally:
        runner.stop(timeout=2.0)
    assert requested_counts(heroku) == [3]  # at MAX: no further request


def test_heartbeat_connection_refused(world):
    heroku, _ = world
    port = closed_port()

    class Refused:
        heartbeat_url = f"http://127.0.0.1:{port}/autoscalebot/heartbeat/"

    runner, rec = start_engine(heroku, Refused())
    try:
        assert beats_keep_coming(rec, 5)
        assert rec.of("beat")[0].error == "connection refused"
        assert len(rec.of("trouble", source="probe")) == 1
    finally:
        runner.stop(timeout=2.0)


def test_beats_stay_on_schedule_while_the_heartbeat_hangs(world):
    heroku, beat = world
    beat.set_mode("hang")
    runner, rec = start_engine(heroku, beat)
    try:
        assert beats_keep_coming(rec, 8)
    finally:
        runner.stop(timeout=2.0)
    times = [b.at.timestamp() for b in rec.of("beat")]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Each beat takes the 0.3 s timeout; the next one starts at the next 0.1 s slot.
    assert max(gaps) < 0.6
    assert min(gaps) > 0.2  # missed slots are skipped, not bunched


@pytest.mark.parametrize(
    "status, error_id",
    [
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (422, "invalid_params"),
        (500, "internal_server_error"),
        (503, "service_unavailable"),
    ],
)
def test_heroku_errors_on_scale(world, status, error_id):
    heroku, beat = world
    beat.set(latency=0.25)  # slow: wants to scale up
    heroku.inject_fault(status=status, error_id=error_id, method="PATCH", times=1000)
    runner, rec = start_engine(heroku, beat)
    try:
        assert rec.wait(lambda: len(rec.of("scale_failed")) >= 3)
        assert len(rec.of("trouble", source="scale")) == 1
        assert len([e for e in rec.of("notify") if e.notification.kind == "scale_failed"]) == 1
        assert str(status) in rec.of("scale_failed")[0].reason
        assert runner.engine.current == 2  # a failed scale changes no recorded count
        heroku.clear_faults()
        assert rec.wait(lambda: rec.of("scale"))
        assert rec.of("recovered", source="scale")
        assert beats_keep_coming(rec, 3)
    finally:
        runner.stop(timeout=2.0)
    assert all(MIN <= q <= MAX for q in requested_counts(heroku))
    assert KEY not in repr(rec.events)


def test_heroku_rate_limit_empty_pool(world):
    heroku, beat = world
    beat.set(latency=0.25)
    heroku.set_rate_limit_remaining(0)
    runner, rec = start_engine(heroku, beat)
    try:
        assert beats_keep_coming(rec, 10)
    finally:
        runner.stop(timeout=2.0)
    assert len(heroku.requests) <= 2  # backed off instead of hammering
    assert len(rec.of("trouble", source="platform")) == 1


def test_heroku_slow_past_client_timeout(world):
    heroku, beat = world
    beat.set(latency=0.25)
    heroku.inject_fault(status=200, body=b'{"quantity": 3}', method="PATCH", delay=1.5, times=1000)
    runner, rec = start_engine(heroku, beat, api_timeout=0.4)
    try:
        assert rec.wait(lambda: len(rec.of("scale_failed")) >= 2)
        assert "timed out" in rec.of("scale_failed")[0].reason
        assert runner.engine.current == 2
        assert beats_keep_coming(rec, 3)
    finally:
        runner.stop(timeout=2.0)


def test_heroku_malformed_json(world):
    heroku, beat = world
    beat.set(latency=0.25)
    heroku.inject_fault(status=200, body=b"{not json", method="PATCH", times=1000)
    runner, rec = start_engine(heroku, beat)
    try:
        assert rec.wait(lambda: len(rec.of("scale_failed")) >= 2)
        assert "malformed JSON" in rec.of("scale_failed")[0].reason
        assert len(rec.of("trouble", source="scale")) == 1
        assert runner.engine.current == 2
    finally:
        runner.stop(timeout=2.0)


def test_heroku_connection_refused(world):
    heroku, beat = world
    beat.set(latency=0.05)
    runner, rec = start_engine(heroku, beat, api_url=f"http://127.0.0.1:{closed_port()}")
    try:
        assert beats_keep_coming(rec, 5)
        (trouble,) = rec.of("trouble", source="platform")
        assert "unreachable" in trouble.reason
    finally:
        runner.stop(timeout=2.0)


def test_notification_backend_that_raises_or_hangs(world):
    heroku, beat = world
    beat.set(latency=0.05)
    runner, rec = start_engine(
        heroku,
        beat,
        NOTIFY_ON_EVERY_PING=True,
        NOTIFICATION_BACKENDS=["tests.faults.backends.Raises", "tests.faults.backends.Hangs"],
    )
    try:
        assert beats_keep_coming(rec, 10, timeout=5)
        assert len(rec.of("trouble", source="notify:Raises")) == 1
    finally:
        from tests.faults import backends

        backends.Hangs.release.set()
        runner.stop(timeout=2.0)

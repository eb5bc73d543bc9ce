"""The heartbeat test server: latency, status and failure modes over real loopback HTTP."""

from __future__ import annotations

import os
import select
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoscalebot.emulator.heartbeat import HeartbeatServer

REPO_ROOT = Path(__file__).parents[2]
# Loopback only: ignore proxy settings, and share one TLS context (httpx would
# otherwise load the CA bundle for every client, ~50 ms each).
HTTPX_OPTIONS: dict[str, Any] = {"trust_env": False, "verify": ssl.create_default_context()}


@pytest.fixture
def beat() -> Iterator[HeartbeatServer]:
    with HeartbeatServer() as server:
        yield server


def _handler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("HeartbeatServer-")]


def test_answers_200_and_counts_hits(beat: HeartbeatServer) -> None:
    assert beat.url.startswith("http://127.0.0.1:") and not beat.url.endswith("/")
    assert beat.heartbeat_url == beat.url + "/autoscalebot/heartbeat/"
    for _ in range(3):
        assert httpx.get(beat.heartbeat_url, **HTTPX_OPTIONS).status_code == 200
    assert beat.hits == 3


def test_other_paths_are_404_and_not_hits(beat: HeartbeatServer) -> None:
    assert httpx.get(beat.url + "/", **HTTPX_OPTIONS).status_code == 404
    assert beat.hits == 0


def test_status_is_controlled(beat: HeartbeatServer) -> None:
    beat.set(status=503)
    assert httpx.get(beat.heartbeat_url, **HTTPX_OPTIONS).status_code == 503
    beat.set(status=204)
    assert httpx.head(beat.heartbeat_url, **HTTPX_OPTIONS).status_code == 204
    with pytest.raises(ValueError):
        beat.set(status=99)


def test_latency_is_controlled(beat: HeartbeatServer) -> None:
    beat.set(latency=0.3)
    started = time.monotonic()
    response = httpx.get(beat.heartbeat_url, **HTTPX_OPTIONS)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 0.3 <= elapsed < 2.0
    beat.set(latency=0)
    started = time.monotonic()
    httpx.get(beat.heartbeat_url, **HTTPX_OPTIONS)
    assert time.monotonic() - started < 0.3


def test_latency_longer_than_client_timeout_times_out(beat: HeartbeatServer) -> None:
    beat.set(latency=5.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(beat.heartbeat_url, timeout=0.2, **HTTPX_OPTIONS)


def test_hang_makes_clients_time_out(beat: HeartbeatServer) -> None:
    beat.set_mode("hang")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(beat.heartbeat_url, timeout=0.2, **HTTPX_OPTIONS)
    assert beat.hits == 1


def test_reset_breaks_the_connection(beat: HeartbeatServer) -> None:
    beat.set_mode("reset")
    with pytest.raises(httpx.TransportError):
        httpx.get(beat.heartbeat_url, timeout=2, **HTTPX_OPTIONS)


def test_endless_body_keeps_streaming(beat: HeartbeatServer) -> None:
    beat.set_mode("endless")
    received = 0
    with (
        httpx.Client(timeout=2, **HTTPX_OPTIONS) as client,
        client.stream("GET", beat.heartbeat_url) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 10_000:  # far more than any heartbeat; the body is still going
                break
    assert received > 10_000


def test_endless_body_ends_when_the_server_stops() -> None:
    server = HeartbeatServer().start()
    server.set_mode("endless")
    outcome: list[BaseException | None] = []

    def read_all() -> None:
        try:
            with httpx.stream("GET", server.heartbeat_url, timeout=5, **HTTPX_OPTIONS) as r:
                for _ in r.iter_bytes():
                    pass
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome.append(exc)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    deadline = time.monotonic() + 2
    while server.hits == 0 and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    server.stop()
    reader.join(timeout=3)
    assert not reader.is_alive()
    # The terminating chunk never came: the client sees a broken body.
    assert isinstance(outcome[0], httpx.TransportError)


def test_redirect_loop_exhausts_redirects(beat: HeartbeatServer) -> None:
    beat.set_mode("redirect-loop")
    response = httpx.get(beat.heartbeat_url, **HTTPX_OPTIONS)
    assert response.status_code == 302
    assert response.headers["Location"] == beat.heartbeat_url
    with pytest.raises(httpx.TooManyRedirects):
        httpx.get(beat.heartbeat_url, follow_redirects=True, timeout=2, **HTTPX_OPTIONS)


def test_set_mode_rejects_unknown_modes(beat: HeartbeatServer) -> None:
    with pytest.raises(ValueError, match="mode"):
        beat.set_mode("sleepy")


def test_control_endpoint(beat: HeartbeatServer) -> None:
    control = f"{beat.url}/__heartbeat__/set"
    state = httpx.post(control, json={"status": 500, "latency": 0.01}, **HTTPX_OPTIONS).json()
    assert state == {"latency": 0.01, "status": 500, "mode": "normal", "hits": 0}
    assert httpx.get(beat.heartbeat_url, **HTTPX_OPTIONS).status_code == 500
    httpx.post(control, json={"mode": "hang"}, **HTTPX_OPTIONS)
    assert beat.mode == "hang"
    state = httpx.get(f"{beat.url}/__heartbeat__/state", **HTTPX_OPTIONS).json()
    assert state["hits"] == 1
    bad = httpx.post(control, json={"mode": "nope", "status": 201}, **HTTPX_OPTIONS)
    assert bad.status_code == 400
    assert beat.status == 500  # a rejected request changes nothing
    assert httpx.post(control, json={"colour": 1}, **HTTPX_OPTIONS).status_code == 400


def test_stop_is_prompt_with_hanging_clients_and_leaves_no_threads() -> None:
    server = HeartbeatServer().start()
    server.set_mode("hang")
    errors: list[BaseException] = []

    def wait_forever() -> None:
        try:
            httpx.get(server.heartbeat_url, timeout=10, **HTTPX_OPTIONS)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    clients = [threading.Thread(target=wait_forever, daemon=True) for _ in range(3)]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 2
    while server.hits < 3 and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert server.hits == 3

    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    assert _handler_threads() == []
    for client in clients:
        client.join(timeout=2)
    # The server hung up without answering.
    assert len(errors) == 3 and all(isinstance(e, httpx.TransportError) for e in errors)


def test_hanging_handler_gives_up_when_the_client_does(beat: HeartbeatServer) -> None:
    beat.set_mode("hang")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(beat.heartbeat_url, timeout=0.1, **HTTPX_OPTIONS)
    deadline = time.monotonic() + 2
    while any("handler" in t.name for t in _handler_threads()) and time.monotonic() < deadline:
        threading.Event().wait(0.02)
    assert not [t for t in _handler_threads() if "handler" in t.name]


def test_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        HeartbeatServer(host="0.0.0.0")


def test_main_serves_until_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "autoscalebot.emulator.heartbeat", "--port", "0"]
    command += ["--latency", "0.05", "--status", "503"]
    with subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, "heartbeat server did not print its address in time"
            line = proc.stdout.readline()
            prefix = "heartbeat server listening on "
            assert line.startswith(prefix), line
            url = line[len(prefix) :].strip()
            # the heartbeat URL itself, path and all: what HEARTBEAT_URL takes
            assert url.endswith("/autoscalebot/heartbeat/")
            response = httpx.get(url, timeout=5, **HTTPX_OPTIONS)
            assert response.status_code == 503
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=2) == 0
        finally:
            if proc.poll() is None:
                proc.kill()

"""Every outbound call is bounded: hostile loopback servers cannot stall a beat or bloat memory.

Each server sends every byte well inside any per-read timeout (headers one
byte at a time, ``102 Processing`` for ever, a body that never ends or a
gzip bomb), so only a total deadline and a body cap stop them. Every call
runs on a helper thread that the test waits for a bounded time: a call that
never returns fails the test instead of hanging it. Errors must say what
happened ("could not resolve host ..."), not a library's class name.
"""

from __future__ import annotations

import shlex
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from autoscalebot.backends.base import Notification, ScalerError
from autoscalebot.backends.command import CommandScaler
from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.backends.kubernetes import KubernetesScaler
from autoscalebot.backends.probe import HeartbeatProbe
from autoscalebot.backends.queues import RequestFiguresProbe
from autoscalebot.backends.webhook import WebhookBackend, WebhookError
from autoscalebot.config import build_settings
from autoscalebot.emulator.heroku import HerokuEmulator
from autoscalebot.emulator.hostile import HostileServer
from autoscalebot.engine.engine import Engine
from autoscalebot.runtime import EngineThread
from tests.faults.test_fault_matrix import Recorder

NOTE = Notification(
    "scale", "scaled web from 2 to 3", "3 slow beats", datetime(2026, 1, 5, tzinfo=UTC)
)

TIMEOUT = 0.5  # the deadline every call under test is given
PATIENCE = 10.0  # how long a test waits for a call that should end at TIMEOUT
STALLS = ["trickle-headers", "processing", "slow-body"]
BLOATS = ["endless-body", "gzip-bomb"]
HEROKU = {"HEROKU_APP_NAME": "app", "HEROKU_API_KEY": "k-1234"}


def finishes(call: Callable[[], Any]) -> Any:
    """``call()``'s result or exception, from a thread given PATIENCE seconds."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed back to the test
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(PATIENCE)
    assert box, f"the call was still running after {PATIENCE:g} s"
    return box[0]


def probe(url: str) -> HeartbeatProbe:
    return HeartbeatProbe(
        build_settings(HEROKU | {"HEARTBEAT_URL": url, "HEARTBEAT_TIMEOUT_IN_SECONDS": TIMEOUT})
    )


def heroku(url: str) -> HerokuScaler:
    settings = build_settings(
        {"HEROKU_APP_NAME": "app", "HEROKU_API_KEY": "k-1234", "HEROKU_API_URL": url}
    )
    return HerokuScaler(settings, deadline=TIMEOUT)


def kubernetes(url: str, tmp_path) -> KubernetesScaler:
    token = tmp_path / "token"
    token.write_text("k8s-token-hostile\n")
    settings = build_settings(
        {
            "SCALING_BACKEND": "kubernetes",
            "KUBERNETES_API_URL": url,
            "KUBERNETES_NAMESPACE": "shop",
            "KUBERNETES_DEPLOYMENT": "web",
            "KUBERNETES_TOKEN_FILE": str(token),
            "HEARTBEAT_URL": "http://127.0.0.1:9/health",
        }
    )
    return KubernetesScaler(settings, deadline=TIMEOUT)


def webhook(url: str) -> WebhookBackend:
    settings = build_settings(
        HEROKU
        | {
            "NOTIFICATION_BACKENDS": ["webhook"],
            "WEBHOOK_URL": url,
            "WEBHOOK_TIMEOUT_IN_SECONDS": TIMEOUT,
        }
    )
    return WebhookBackend(settings, wait=lambda seconds: None)


# -- 2. a total deadline, the header phase included ---------------------------


@pytest.mark.parametrize("mode", STALLS)
def test_a_heartbeat_past_its_timeout_is_a_fail_at_that_moment(mode):
    with HostileServer(mode) as server:
        beat = finishes(probe(server.url + "/heartbeat").measure)
    assert beat.broken and beat.latency_ms is None
    assert beat.error == f"timed out after {TIMEOUT:g} s"


def test_the_request_figures_probe_shares_the_heartbeats_deadline():
    with HostileServer("processing") as server:
        settings = build_settings(
            HEROKU | {"HEARTBEAT_URL": server.url + "/", "HEARTBEAT_TIMEOUT_IN_SECONDS": TIMEOUT}
        )
        beat = finishes(RequestFiguresProbe(settings).measure)
    assert beat.broken and beat.error == f"timed out after {TIMEOUT:g} s"


@pytest.mark.parametrize("mode", STALLS)
def test_a_heroku_call_ends_at_its_deadline(mode):
    with HostileServer(mode) as server:
        error = finishes(heroku(server.url).current)
    assert isinstance(error, ScalerError) and error.kind == "network"
    assert f"timed out after {TIMEOUT:g} s" in str(error)


@pytest.mark.parametrize("mode", ["trickle-headers", "processing"])
def test_a_kubernetes_call_ends_at_its_deadline(mode, tmp_path):
    with HostileServer(mode) as server:
        error = finishes(kubernetes(server.url, tmp_path).current)
    assert isinstance(error, ScalerError) and f"timed out after {TIMEOUT:g} s" in str(error)


@pytest.mark.parametrize("mode", ["trickle-headers", "processing"])
def test_a_webhook_that_never_answers_gives_up_once_without_a_retry(mode):
    with HostileServer(mode) as server:
        error = finishes(lambda: webhook(server.url + "/hook/secret-path-123").send(NOTE))
        assert server.connections == 1  # it may have arrived: not posted twice
    assert isinstance(error, WebhookError) and "did not answer in time" in str(error)
    assert "secret-path-123" not in str(error)


def test_the_engine_keeps_beating_and_failing_while_the_heartbeat_dribbles():
    with (
        HostileServer("trickle-headers") as server,
        HerokuEmulator(api_key="k-1234") as platform,
    ):
        platform.add_app("app", web_url=server.url + "/", formation={"web": 2})
        settings = build_settings(
            {
                "HEROKU_APP_NAME": "app",
                "HEROKU_API_KEY": "k-1234",
                "HEROKU_API_URL": platform.url,
                "HEARTBEAT_URL": server.url + "/heartbeat",
                "HEARTBEAT_INTERVAL_IN_SECONDS": 0.1,
                "HEARTBEAT_TIMEOUT_IN_SECONDS": 0.3,
                "MIN_DYNOS": 1,
                "MAX_DYNOS": 3,
            }
        )
        rec = Recorder()
        runner = EngineThread(Engine(settings, sink=rec, scaler=HerokuScaler(settings))).start()
        try:
            assert rec.wait(lambda: len(rec.of("beat")) >= 4, timeout=PATIENCE)
        finally:
            runner.stop(timeout=2.0)
    beats = rec.of("beat")
    assert all(b.outcome == "fail" and b.error == "timed out after 0.3 s" for b in beats)
    assert len(rec.of("trouble", source="probe")) == 1


# -- 2. a cap on the body, counted decompressed ---------------------------------


@pytest.mark.parametrize("mode", BLOATS)
def test_an_endless_or_bombed_heroku_answer_is_refused_at_the_cap(mode):
    with HostileServer(mode) as server:
        error = finishes(heroku(server.url).current)
    assert isinstance(error, ScalerError) and error.kind == "protocol"
    assert "with a body over 1048576 bytes" in str(error)


@pytest.mark.parametrize("mode", BLOATS)
def test_an_endless_or_bombed_kubernetes_answer_is_refused_at_the_cap(mode, tmp_path):
    with HostileServer(mode) as server:
        error = finishes(kubernetes(server.url, tmp_path).current)
    assert isinstance(error, ScalerError) and "with a body over 1048576 bytes" in str(error)


@pytest.mark.parametrize("mode", BLOATS)
def test_a_webhook_answering_200_with_an_endless_body_counts_as_delivered(mode):
    with HostileServer(mode) as server:
        outcome = finishes(lambda: webhook(server.url + "/hook").send(NOTE))
        assert server.connections == 1
    assert outcome is None  # sent, read no further than the cap, no error


@pytest.mark.parametrize("mode", BLOATS)
def test_a_heartbeat_with_an_endless_or_bombed_body_is_a_fail(mode):
    with HostileServer(mode) as server:
        beat = finishes(probe(server.url + "/heartbeat").measure)
    assert beat.broken and beat.error == "heartbeat body over 1048576 bytes"
    assert beat.status == 200


# -- 9. errors say what happened -------------------------------------------------


@pytest.fixture
def no_such_host(monkeypatch):
    """Names under ``.invalid`` do not resolve, answered here (no DNS query leaves)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_an_unknown_heartbeat_host_is_could_not_resolve_not_refused(no_such_host):
    beat = finishes(probe("http://app.example.invalid/heartbeat").measure)
    assert beat.error == "could not resolve host app.example.invalid"


def test_an_unknown_api_host_is_named_in_the_scalers_error(no_such_host, tmp_path):
    error = finishes(heroku("https://api.example.invalid").current)
    assert "could not resolve host api.example.invalid" in str(error)
    error = finishes(kubernetes("https://k8s.example.invalid", tmp_path).current)
    assert "could not resolve host k8s.example.invalid" in str(error)


def test_an_unknown_webhook_host_is_named_and_the_secret_path_is_not(no_such_host):
    error = finishes(lambda: webhook("https://hooks.example.invalid/T0/B0/s3cr3t-t0k3n").send(NOTE))
    assert isinstance(error, WebhookError)
    assert "could not resolve host hooks.example.invalid" in str(error)
    assert "s3cr3t" not in str(error)


def test_a_refused_connection_is_still_called_refused():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert finishes(probe(f"http://127.0.0.1:{port}/").measure).error == "connection refused"


# -- a command's output is bounded too -------------------------------------------


def command(tmp_path, count: str, scale: str = "true {quantity}") -> CommandScaler:
    settings = build_settings(
        {
            "SCALING_BACKEND": "command",
            "SCALE_COMMAND": scale,
            "COUNT_COMMAND": count,
            "COMMAND_TIMEOUT_IN_SECONDS": PATIENCE / 2,
            "HEARTBEAT_URL": "http://127.0.0.1:9/health",
        }
    )
    return CommandScaler(settings)


def python(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def test_a_count_command_printing_megabytes_is_refused_without_keeping_them(tmp_path):
    flood = python("import sys; sys.stdout.write('7' * 50_000_000)")
    error = finishes(command(tmp_path, flood).current)
    assert isinstance(error, ScalerError)
    assert str(error) == "COUNT_COMMAND printed more than 65536 bytes, not a whole number"


def test_a_chatty_scale_command_succeeds_and_a_failing_one_shows_its_last_words(tmp_path):
    chatty = python("import sys; sys.stdout.write('progress\\n' * 2_000_000)") + " {quantity}"
    assert finishes(lambda: command(tmp_path, "true", chatty).scale_to(3)) == 3
    failing = (
        python(
            "import sys; sys.stderr.write('noise\\n' * 2_000_000); "
            "sys.exit('App myapp does not exist')"
        )
        + " {quantity}"
    )
    error = finishes(lambda: command(tmp_path, "true", failing).scale_to(3))
    assert isinstance(error, ScalerError)
    assert str(error).endswith("exited with status 1: noise noise App myapp does not exist")

"""WebhookBackend against real loopback HTTP servers: retries, timeouts, and a secret URL."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from autoscalebot.backends.base import Notification
from autoscalebot.backends.webhook import WebhookBackend, WebhookError
from autoscalebot.config import ConfigError, build_settings, load_settings
from autoscalebot.emulator.server import BackgroundHTTPServer, LoopbackHTTPServer
from autoscalebot.engine.engine import Engine
from tests.conftest import MemoryScaler, ScriptedProbe

SECRET = "XoXb9f3kT0kEnQ7"
NOTE = Notification(
    "scale",
    "Scaled up from 1 to 2 dynos automatically",
    "3 beats over 1000 ms: 1350, 1420, 1600",
    datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
    {"before": 1, "after": 2},
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackHTTPServer

    def do_POST(self) -> None:  # noqa: N802
        hook: HookServer = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with hook.lock:
            hook.received.append((self.path, dict(self.headers.items()), body))
            answer = hook.answers.pop(0) if hook.answers else (200, b"ok", {})
        status, text, headers = answer
        if status == "hang":
            self.server.stopping.wait(30)
            self.close_connection = True
            return
        if status == "drop":
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args) -> None:
        pass


class HookServer(BackgroundHTTPServer):
    """A webhook receiver that answers from a script: (status|"hang"|"drop", body, headers)."""

    handler_class = _Handler

    def __init__(self, *answers):
        self.lock = threading.Lock()
        self.answers = list(answers)
        self.received = []
        super().__init__()

    @property
    def hook_url(self):
        return f"{self.url}/services/T0001/B0002/{SECRET}"


def settings(url, **extra):
    raw = {
        "HEROKU_APP_NAME": "test-app",
        "HEROKU_API_KEY": "k",
        "WEBHOOK_URL": url,
        "TIME_ZONE": "UTC",
    }
    return build_settings(raw | extra)


def backend(url, waits=None, **extra):
    return WebhookBackend(
        settings(url, **extra), wait=(waits.append if waits is not None else lambda s: None)
    )


def test_posts_slack_json(caplog):
    with HookServer() as hook:
        webhook = backend(hook.hook_url)
        webhook.send(NOTE)
        webhook.close()
    path, headers, body = hook.received[0]
    assert path == f"/services/T0001/B0002/{SECRET}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "text": "[autoscalebot] scaled: Scaled up from 1 to 2 dynos automatically "
        "(3 beats over 1000 ms: 1350, 1420, 1600)"
    }


def test_json_format_has_every_field():
    with HookServer() as hook:
        backend(hook.hook_url, WEBHOOK_FORMAT="json").send(NOTE)
    body = json.loads(hook.received[0][2])
    assert body["kind"] == "scale" and body["counts"] == {"before": 1, "after": 2}
    assert body["at"] == "2026-01-05T12:00:00+00:00" and body["text"].startswith(
        "[autoscalebot] scaled"
    )


def test_a_5xx_is_retried_once_after_a_backoff():
    waits = []
    with HookServer((503, b"try later", {})) as hook:
        backend(hook.hook_url, waits).send(NOTE)
    assert len(hook.received) == 2 and waits == [1.0]


def test_a_dropped_connection_is_retried_and_429_waits_for_retry_after():
    waits = []
    answers = [("drop", b"", {}), (200, b"ok", {}), (429, b"rate_limited", {"Retry-After": "3"})]
    with HookServer(*answers) as hook:
        webhook = backend(hook.hook_url, waits)
        webhook.send(NOTE)  # dropped, then delivered
        webhook.send(NOTE)  # 429, then delivered
    assert len(hook.received) == 4 and waits == [1.0, 3.0]


def test_two_failures_raise_and_a_4xx_is_not_retried():
    waits = []
    with HookServer((500, b"", {}), (502, b"bad gateway", {}), (404, b"no_service", {})) as hook:
        webhook = backend(hook.hook_url, waits)
        with pytest.raises(
            WebhookError,
            match=r"answered 502: bad gateway \(after a retry; first: .* answered 500\)",
        ):
            webhook.send(NOTE)
        with pytest.raises(WebhookError, match="answered 404: no_service"):
            webhook.send(NOTE)
    assert len(hook.received) == 3 and waits == [1.0]


def test_a_hanging_webhook_gives_up_after_its_timeout_without_a_retry():
    with HookServer(("hang", b"", {})) as hook:
        webhook = backend(hook.hook_url, WEBHOOK_TIMEOUT_IN_SECONDS=0.3)
        started = time.monotonic()
        with pytest.raises(WebhookError, match="did not answer in time"):
            webhook.send(NOTE)
        assert time.monotonic() - started < 1.5
        assert len(hook.received) == 1  # it may have arrived: no second copy


def test_the_url_is_never_logged_nor_in_errors(caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    with HookServer((200, b"ok", {}), (500, f"echo {SECRET}".encode(), {}), (500, b"", {})) as hook:
        url = hook.hook_url
        webhook = backend(url)
        webhook.send(NOTE)  # delivered: httpx logs "HTTP Request: POST <url>" at INFO
        with pytest.raises(WebhookError) as info:
            webhook.send(NOTE)
        errors.append(str(info.value))
    refused = backend(url)  # the server is gone now: connection refused, twice
    with pytest.raises(WebhookError) as info:
        refused.send(NOTE)
    errors.append(str(info.value))
    assert "unreachable" in errors[-1]
    assert any(
        "HTTP Request: POST" in r.getMessage() for r in caplog.records
    )  # the library did log
    for text in [
        caplog.text,
        *errors,
        repr(webhook),
        repr(webhook.settings),
        str(webhook.settings.public()),
    ]:
        assert SECRET not in text
    webhook.close()
    refused.close()


@pytest.mark.parametrize(
    ("url", "extra", "setting"),
    [
        (None, {}, "WEBHOOK_URL"),
        (f"http://hooks.example.com/services/{SECRET}", {}, "WEBHOOK_URL"),
        (f"ftp://hooks.example.com/{SECRET}", {}, "WEBHOOK_URL"),
        ("https://hooks.example.com/x", {"WEBHOOK_FORMAT": "xml"}, "WEBHOOK_FORMAT"),
    ],
)
def test_configuration_errors_never_echo_the_url(url, extra, setting):
    with pytest.raises(ConfigError) as info:
        WebhookBackend(settings(url, **extra))
    assert info.value.setting == setting and SECRET not in str(info.value)


def test_the_url_comes_from_the_environment_not_the_command_line():
    env = {
        "AUTOSCALE_WEBHOOK_URL": f"https://hooks.example.com/{SECRET}",
        "HEROKU_APP_NAME": "a",
        "HEROKU_API_KEY": "k",
    }
    loaded = load_settings(env=env, config_path=None, allow_missing_config=True, overrides={})
    assert loaded.webhook_url.endswith(SECRET)
    from autoscalebot.config import parse_overrides

    with pytest.raises(ConfigError, match="not taken on the command line"):
        parse_overrides([f"WEBHOOK_URL=https://hooks.example.com/{SECRET}"])


def test_a_hanging_webhook_does_not_delay_the_beats():
    """Real clock, 50 ms beats, a notification every beat, a webhook that never answers."""
    with HookServer(*[("hang", b"", {})] * 50) as hook:
        beats = []

        class TimedProbe(ScriptedProbe):
            def measure(self):
                beats.append(time.monotonic())
                return super().measure()

        probe = TimedProbe()
        probe.default = 300.0
        events = []
        s = settings(
            hook.hook_url,
            HEARTBEAT_INTERVAL_IN_SECONDS=0.05,
            NOTIFY_ON_EVERY_PING=True,
            WEBHOOK_TIMEOUT_IN_SECONDS=0.5,
        )
        webhook = WebhookBackend(s, wait=lambda seconds: None)
        engine = Engine(
            s, sink=events.append, probe=probe, scaler=MemoryScaler(1), notifiers=[webhook]
        )
        runner = threading.Thread(target=engine.run, daemon=True)
        runner.start()
        time.sleep(1.2)
        engine.stop()
        runner.join(3)
        webhook.close()
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    assert len(beats) >= 18, beats
    assert max(gaps) < 0.15, gaps
    trouble = [e for e in events if e.kind == "trouble" and e.source == "notify:WebhookBackend"]
    assert (
        trouble
        and "did not answer in time" in trouble[0].reason
        and SECRET not in trouble[0].reason
    )


def test_a_url_httpx_percent_encodes_is_masked_in_that_spelling_too(caplog):
    caplog.set_level(logging.DEBUG)
    with HookServer((200, b"ok", {})) as hook:
        url = f"{hook.url}/services/T0001/tok en-é-{'own-token-4a1c9e'}"  # not SECRET: other tests' filters mask that
        webhook = backend(url)
        webhook.send(NOTE)
        webhook.close()
    assert any("HTTP Request: POST" in r.getMessage() for r in caplog.records)
    assert "own-token-4a1c9e" not in caplog.text
    assert "%C3%A9" not in caplog.text and "tok%20en" not in caplog.text

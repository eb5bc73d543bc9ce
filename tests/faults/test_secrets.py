"""A planted API key never leaves the process except in the Authorization header."""

from __future__ import annotations

import io
import logging

import httpx

from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.config import build_settings, save_settings
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from autoscalebot.logfmt import LogfmtSink
from tests.conftest import MemoryScaler, ScriptedProbe

PLANTED = "planted-secret-0d2f9c71"


def settings(**extra):
    return build_settings(
        {
            "HEROKU_APP_NAME": "app",
            "HEROKU_API_KEY": PLANTED,
            "HEROKU_API_URL": "https://api.heroku.com",
            **extra,
        }
    )


def test_key_is_sent_only_in_the_authorization_header_and_never_reported(caplog):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        # A hostile or buggy platform that echoes the header back in its error.
        return httpx.Response(
            401, json={"id": "unauthorized", "message": "Invalid credentials provided."}
        )

    scaler = HerokuScaler(settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    out = io.StringIO()
    engine = Engine(
        settings(NOTIFY_ON_SCALE_FAILS=True, NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1),
        sink=LogfmtSink(out),
        clock=FakeClock(),
        probe=ScriptedProbe([1500.0] * 5),
        scaler=scaler,
        notifiers=[],
    )
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        engine.tick()
    assert seen and all(r.headers["Authorization"] == f"Bearer {PLANTED}" for r in seen)
    assert all(r.url.scheme == "https" for r in seen)
    assert PLANTED not in out.getvalue()
    assert PLANTED not in caplog.text
    assert PLANTED not in repr(engine.settings) and PLANTED not in repr(engine.status())
    try:
        scaler.current()
    except ScalerError as exc:
        assert PLANTED not in str(exc) and "401" in str(exc)


def test_key_never_written_to_toml(tmp_path):
    path = tmp_path / "c.toml"
    s = settings()
    editable = {
        name: s.value(name) for name in ("MAX_RESPONSE_TIME_IN_MS", "MAX_DYNOS", "INCREMENT")
    }
    save_settings(path, editable)
    assert PLANTED not in path.read_text()


def test_emulator_records_no_key():
    from autoscalebot.emulator.heroku import HerokuEmulator

    with HerokuEmulator(api_key=PLANTED) as heroku:
        heroku.add_app("app", formation={"web": 1})
        scaler = HerokuScaler(settings(HEROKU_API_URL=heroku.url))
        scaler.scale_to(2)
        scaler.close()
        assert PLANTED not in repr([r.to_dict() for r in heroku.requests])


# ---- a server or a backend that echoes a secret back (issue 11, class 1) ----

import base64  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote  # noqa: E402

from autoscalebot.backends.base import Notification  # noqa: E402
from autoscalebot.backends.notification import TestBackend  # noqa: E402
from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402
from autoscalebot.secrets import MASK, Scrubber, install_log_scrubber, scrubber_for  # noqa: E402

WEBHOOK = "https://hooks.example.com/services/T0001/B0002/planted-hook-8c1e"


def echoes(secret: str) -> list[str]:
    """The spellings a careless server uses when it quotes what it was sent."""
    return [
        f"Bearer {secret}",
        quote(secret, safe=""),
        secret.replace("/", "\\/"),
        base64.b64encode(f":{secret}".encode()).decode(),
    ]


def test_a_key_a_server_echoes_reaches_no_sink(caplog):
    """Heroku (emulated, on loopback) quotes the Authorization header it got in its
    errors; the log, the events, the notifications and the status never show it."""
    echo = " / ".join(echoes(PLANTED))
    with HerokuEmulator(api_key=PLANTED) as heroku:
        heroku.add_app("app", formation={"web": 1})
        heroku.inject_fault(status=401, message=f"Invalid credentials: {echo}", times=2)
        heroku.inject_fault(
            status=503, method="PATCH", message=f"upstream refused {echo}", times=50
        )
        s = settings(
            HEROKU_API_URL=heroku.url,
            NOTIFY_ON_SCALE_FAILS=True,
            NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1,
            HEARTBEAT_URL="http://127.0.0.1:9/",
        )
        out = io.StringIO()
        outbox = TestBackend()
        events: list = []
        sink = LogfmtSink(out)

        def both(event):
            events.append(event)
            sink(event)

        engine = Engine(
            s,
            sink=both,
            clock=FakeClock(),
            probe=ScriptedProbe([1500.0] * 6),
            scaler=HerokuScaler(s),
            notifiers=[outbox],
            notify_async=False,
        )
        root = logging.getLogger()
        log_filter = install_log_scrubber(s)
        try:
            caplog.set_level(logging.DEBUG)
            for _ in range(6):
                engine.tick()
                engine.clock.advance(30)
            logging.getLogger("test").warning("server said %s", echo, exc_info=ValueError(echo))
        finally:
            for handler in root.handlers:
                handler.removeFilter(log_filter)
            engine.close()
    # The faults did fire, and their text (masked) is what the operator sees.
    assert any(e.kind == "trouble" and "Invalid credentials" in e.reason for e in events)
    assert any(e.kind == "scale_failed" and "upstream refused" in e.reason for e in events)
    assert outbox.messages and MASK in out.getvalue()
    shown = [
        out.getvalue(),
        caplog.text,
        repr(events),
        repr(outbox.messages),
        repr(engine.status()),
    ]
    for text in shown:
        for spelling in [PLANTED, *echoes(PLANTED)[1:]]:
            assert spelling not in text


def test_a_webhook_url_a_backend_echoes_is_masked_in_the_trouble_it_reports():
    class EchoingWebhook:
        """A notification backend whose server quotes the URL, percent-encoded."""

        def send(self, note: Notification) -> None:
            raise RuntimeError(f"POST {quote(WEBHOOK, safe='')} refused; try {WEBHOOK}")

    events: list = []
    engine = Engine(
        build_settings(
            {"HEROKU_APP_NAME": "app", "HEROKU_API_KEY": PLANTED, "WEBHOOK_URL": WEBHOOK}
        ),
        sink=events.append,
        clock=FakeClock(),
        probe=ScriptedProbe([1500.0]),
        scaler=MemoryScaler(1),
        notifiers=[EchoingWebhook()],
        notify_async=False,
    )
    engine.settings = engine.settings.with_changes({"NOTIFY_ON_EVERY_PING": True})
    engine.tick()
    (trouble,) = [e for e in events if e.kind == "trouble"]
    assert trouble.source == "notify:EchoingWebhook" and "refused" in trouble.reason
    assert "planted-hook" not in repr(events) and "T0001" not in repr(events)


def test_every_spelling_of_every_secret_is_masked_and_nothing_else():
    scrub = Scrubber([PLANTED, WEBHOOK, "abc"])  # "abc": too short to be a secret
    for spelling in [*echoes(PLANTED), *echoes(WEBHOOK), "/services/T0001/B0002/planted-hook-8c1e"]:
        text = f"error: {spelling.upper() if '%' in spelling else spelling} (try again)"
        assert scrub(text).startswith("error: ") and scrub(text).endswith(" (try again)")
        assert PLANTED not in scrub(text) and "planted-hook" not in scrub(text).lower()
    assert scrub("abc def 1350 ms") == "abc def 1350 ms"
    note = Notification("scale", f"key {PLANTED}", "ok", FakeClock().now(), {"n": 1})
    assert scrub.scrub(note) == Notification("scale", f"key {MASK}", "ok", note.at, {"n": 1})
    assert scrub.scrub(note).counts == {"n": 1}


def test_a_rotated_token_file_is_masked_old_and_new(tmp_path: Path):
    token = tmp_path / "token"
    token.write_text("first-token-abcdef\n")
    scrub = scrubber_for(
        build_settings(
            {"HEROKU_APP_NAME": "app", "KUBERNETES_TOKEN_FILE": str(token)},
            require_platform=False,
        )
    )
    assert scrub("got first-token-abcdef") == f"got {MASK}"
    token.write_text("second-token-123456789\n")
    scrub.refresh()
    assert scrub("first-token-abcdef second-token-123456789") == f"{MASK} {MASK}"


def test_a_broker_password_in_a_url_setting_is_a_secret():
    from autoscalebot.secrets import secret_values

    class WithBroker:
        heroku_api_key = None
        heroku_api_url = "https://user:broker-pass-1234@api.example.com"

    assert "broker-pass-1234" in secret_values(WithBroker())


def test_a_key_one_formation_holds_is_masked_in_every_log_line():
    from autoscalebot.config import build_settings
    from autoscalebot.secrets import scrubber_for

    settings = build_settings(
        {
            "HEROKU_APP_NAME": "shop",
            "HEROKU_API_KEY": "top-level-key-1234",
            "FORMATIONS": [{"HEROKU_APP_NAME": "blog", "HEROKU_API_KEY": "blog-own-key-5678"}],
        }
    )
    scrub = scrubber_for(settings)
    assert (
        scrub("401 for blog-own-key-5678 and top-level-key-1234") == "401 for [secret] and [secret]"
    )

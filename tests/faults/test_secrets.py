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
from tests.conftest import ScriptedProbe

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

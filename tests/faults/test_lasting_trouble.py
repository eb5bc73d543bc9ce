"""A wrong app name or key is loud for as long as it lasts (issue 11, class 6).

The real Heroku client and the real heartbeat probe (its URL relative, so it
needs the app's URL from Heroku) against the emulator on loopback; the engine
beats on a fake clock through 40 minutes of a wrong key or app name.
"""

from __future__ import annotations

import pytest

from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.config import build_settings
from autoscalebot.emulator.heroku import HerokuEmulator
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine

APP, KEY = "lasting-app", "lasting-planted-key-61d0"
INTERVAL = 30.0


@pytest.mark.parametrize(
    ("app", "key", "said"),
    [(APP, "a-wrong-key-0000", "401"), ("no-such-app", KEY, "404")],
    ids=["wrong-key", "wrong-app"],
)
def test_a_wrong_key_or_app_is_reported_on_a_back_off_with_a_beat_every_interval(app, key, said):
    with HerokuEmulator(api_key=KEY) as heroku:
        heroku.add_app(APP, formation={"web": 2})
        s = build_settings(
            {
                "HEROKU_APP_NAME": app,
                "HEROKU_API_KEY": key,
                "HEROKU_API_URL": heroku.url,
                "HEARTBEAT_URL": "/health",
                "HEARTBEAT_INTERVAL_IN_SECONDS": INTERVAL,
                "TIME_ZONE": "UTC",
            }
        )
        events: list = []
        clock = FakeClock()
        engine = Engine(s, sink=events.append, clock=clock, scaler=HerokuScaler(s), notifiers=[])
        try:
            beats = 80  # 40 minutes
            for _ in range(beats):
                engine.tick()
                clock.advance(INTERVAL)
            status = engine.status()
        finally:
            engine.close()
    platform = [e for e in events if e.kind == "trouble" and e.source == "platform"]
    at = [round((e.at - platform[0].at).total_seconds()) for e in platform]
    # Once when it begins, then after 1 min, 5 min, 20 min and 35 min: never silent for long.
    assert at == [0, 60, 300, 1200, 2100]
    assert [e.repeat for e in platform] == [0, 1, 2, 3, 4]
    assert all(said in e.reason for e in platform)
    assert platform[1].reason.startswith("still failing after 1 min: ")
    # A beat line every interval, saying why there is no measurement.
    logged = [e for e in events if e.kind == "beat"]
    assert len(logged) == beats and all(said in (b.error or "") for b in logged)
    # The console's status names the failing part and why.
    assert "platform" in status.problems and said in status.problem_reasons["platform"]
    assert engine.current is None and KEY not in repr(events)

"""A scale counts only when the platform's count moved (issue 11, class 3).

The real Heroku client against the project's emulator on loopback; the
emulator is told to answer a PATCH "200 OK" without scaling, or to report an
impossible count. The engine runs on a fake clock, one beat at a time.
"""

from __future__ import annotations

import json

import pytest

from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.backends.notification import TestBackend
from autoscalebot.config import build_settings
from autoscalebot.emulator.heroku import HerokuEmulator
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.commands import ForceScale
from autoscalebot.engine.engine import Engine
from tests.conftest import ScriptedProbe

APP, KEY = "confirm-app", "confirm-planted-key-3b9e"
SLOW, FAST = 1500.0, 50.0


def formation(quantity: object) -> bytes:
    return json.dumps({"type": "web", "quantity": quantity, "size": "standard-1X"}).encode()


@pytest.fixture
def heroku():
    with HerokuEmulator(api_key=KEY) as emulator:
        emulator.add_app(APP, formation={"web": 5})
        yield emulator


class Bot:
    """An engine over the real Heroku client, its events and notifications."""

    def __init__(self, heroku: HerokuEmulator, **extra: object) -> None:
        s = build_settings(
            {
                "HEROKU_APP_NAME": APP,
                "HEROKU_API_KEY": KEY,
                "HEROKU_API_URL": heroku.url,
                "HEARTBEAT_URL": "http://127.0.0.1:9/",
                "MIN_DYNOS": 1,
                "MAX_DYNOS": 8,
                "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER": 1,
                "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER": 1,
                "NOTIFY_ON_SCALE_FAILS": True,
                "NOTIFY_ON_EVERY_SCALE": True,
                "TIME_ZONE": "UTC",
                **extra,
            }
        )
        self.events: list = []
        self.outbox = TestBackend()
        self.probe = ScriptedProbe()
        self.clock = FakeClock()
        self.engine = Engine(
            s,
            sink=self.events.append,
            clock=self.clock,
            probe=self.probe,
            scaler=HerokuScaler(s),
            notifiers=[self.outbox],
            notify_async=False,
        )

    def beats(self, *latencies: float) -> None:
        for latency in latencies:
            self.probe.push(latency)
            self.engine.tick()
            self.clock.advance(30)

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

    def close(self) -> None:
        self.engine.close()


def test_a_patch_answered_ok_that_scaled_nothing_is_a_failed_scale(heroku):
    bot = Bot(heroku)
    try:
        bot.beats(FAST)  # 5 -> 4 works: the rule does not get in the way of real scales
        assert heroku.quantity(APP) == 4 and [(s.before, s.after) for s in bot.of("scale")] == [
            (4 + 1, 4)
        ]
        # Now the platform answers every PATCH "200, quantity 4" and scales nothing.
        heroku.inject_fault(status=200, method="PATCH", body=formation(4), times=20)
        bot.beats(FAST, FAST, FAST)
    finally:
        bot.close()
    assert heroku.quantity(APP) == 4
    assert len(bot.of("scale")) == 1, "never 'Scaled down from 4 to 4 dynos'"
    failed = bot.of("scale_failed")
    assert len(failed) == 3 and all("still runs 4 dynos" in f.reason for f in failed)
    notes = [n.kind for n in bot.outbox.messages]
    assert notes == ["scale", "scale_failed"], "a failed scale is notified once per episode"
    assert bot.engine.current == 4 and "scale" in bot.engine.status().problems


def test_a_patch_answer_the_next_read_contradicts_is_a_failed_scale(heroku):
    bot = Bot(heroku)
    try:
        # "200, quantity 4" as asked, while the formation stays at 5.
        heroku.inject_fault(status=200, method="PATCH", body=formation(4), times=5)
        bot.beats(FAST)
    finally:
        bot.close()
    assert heroku.quantity(APP) == 5 and bot.of("scale") == []
    (failed,) = bot.of("scale_failed")
    assert failed.target == 4 and "still runs 5 dynos" in failed.reason
    assert bot.engine.current == 5


@pytest.mark.parametrize("answer", [-3, 10**9, "4", 4.5, None])
def test_an_impossible_count_in_a_patch_answer_is_a_failed_scale(heroku, answer):
    bot = Bot(heroku)
    try:
        heroku.inject_fault(status=200, method="PATCH", body=formation(answer), times=5)
        bot.beats(FAST, FAST)
    finally:
        bot.close()
    assert bot.of("scale") == []
    assert len(bot.of("scale_failed")) == 2
    assert [n.kind for n in bot.outbox.messages] == ["scale_failed"]
    assert bot.engine.current == 5


@pytest.mark.parametrize(("answer", "why"), [(-1, "negative"), (123456, "impossible")])
def test_an_impossible_count_read_is_trouble_and_never_acted_on(heroku, answer, why):
    bot = Bot(heroku, COUNT_REFRESH_IN_SECONDS=1)
    try:
        bot.beats(FAST)  # 5 -> 4
        heroku.inject_fault(
            status=200, method="GET", path_contains="formation", body=formation(answer), times=3
        )
        bot.beats(SLOW, SLOW)
    finally:
        bot.close()
    (trouble,) = [t for t in bot.of("trouble") if t.source == "platform"]
    assert why in trouble.reason and str(answer) in trouble.reason
    # No scale was computed from the absurd count; the next good read resumes scaling.
    assert all(p["quantity"] in range(1, 9) for p in heroku.patches(APP))
    assert bot.of("drift") == []


def test_an_operator_scale_the_platform_ignores_is_refused_not_scaled(heroku):
    bot = Bot(heroku)
    try:
        bot.engine.start()
        heroku.inject_fault(status=200, method="PATCH", body=formation(5), times=1)
        bot.engine.submit(ForceScale(delta=+1))
        bot.engine.apply_commands()
    finally:
        bot.close()
    assert bot.of("scale") == []
    (answer,) = bot.of("operator")
    assert not answer.accepted
    assert "still runs 5 dynos" in bot.of("scale_failed")[0].reason

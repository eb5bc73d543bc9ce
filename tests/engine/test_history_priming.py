"""At start the adaptive policy learns what repeats from the load the bot recorded,
so a restart does not forget the hourly job."""

from __future__ import annotations

import io
import logging
import sqlite3
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from autoscalebot.backends.policies.adaptive import AdaptivePolicy
from autoscalebot.config import build_settings
from autoscalebot.config.formations import formation_id
from autoscalebot.engine import events as ev
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from autoscalebot.history import History, default_path, prime_from_history
from autoscalebot.logfmt import LogfmtSink
from autoscalebot.runtime import serve_headless
from tests.conftest import MemoryScaler, ScriptedProbe

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # on the hour: wall minutes are policy minutes
FID = "test-app/web"
CALM_MS, BUSY_MS = 110.0, 340.0  # 100 ms service, 2 workers: ~30 % and ~84 % busy
KEYS = {"HEROKU_APP_NAME": "test-app", "HEROKU_API_KEY": "test-key", "TIME_ZONE": "UTC"}


def settings() -> Any:
    return build_settings(
        {"TIME_ZONE": "UTC", "APP_SERVICE_TIME_IN_MS": 100, "APP_CONCURRENCY": 2},
        require_platform=False,
    )


def engine(clock: FakeClock, policy: Any) -> Engine:
    return Engine(
        settings(),
        clock=clock,
        probe=ScriptedProbe(),
        scaler=MemoryScaler(3),
        policy=policy,
        notifiers=[],
    )


def record(history: History, at: datetime, ms: float, dynos: int = 3, fid: str = FID) -> None:
    history.record(ev.Beat(at, ms, 200, None, "ok", {}, dynos), fid)


def hourly_job(history: History, end: datetime, hours: int, every_s: float = 30.0) -> None:
    """``hours`` of beats up to ``end``: busy at minutes 30-34 of every hour, calm otherwise."""
    at = end - timedelta(hours=hours)
    while at < end:
        record(history, at, BUSY_MS if 30 <= at.minute < 35 else CALM_MS)
        at += timedelta(seconds=every_s)


class Recording(AdaptivePolicy):
    """The adaptive policy, keeping what ``prime`` was given."""

    def prime(self, beats: Any) -> None:
        self.primed = list(beats)
        super().prime(self.primed)


def test_a_primed_policy_foresees_the_hourly_job_an_unprimed_one_does_not(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    hourly_job(history, START + timedelta(minutes=28), hours=4)  # the bot stopped at 12:28
    clock = FakeClock(START + timedelta(minutes=28))  # and starts again at once
    primed, fresh = AdaptivePolicy(settings()), AdaptivePolicy(settings())

    minutes = prime_from_history(history, engine(clock, primed), FID)

    assert minutes == 4 * 60
    now = clock.monotonic()  # 12:28, two minutes before the job
    swing = primed.per_dyno * primed.rho_target  # a dyno's worth of load
    period = primed.repeats.period(now, swing)
    assert period is not None and period.lag == 60  # every hour
    m = int(now // 60)
    job, calm = period.most(m, m + 2), period.most(m - 20, m - 18)  # 12:30, 12:08
    assert job - calm > 10.0  # ~3 dynos x 20 rps x (0.84 - 0.3)
    assert fresh.repeats.period(now, swing) is None
    history.close()


def test_recorded_times_are_mapped_to_the_policys_clock_and_gaps_invent_no_load(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "h.sqlite3")
    hourly_job(history, START - timedelta(hours=2), hours=2)  # 8:00-10:00
    # 10:00-11:00 the bot was down: nothing recorded.
    hourly_job(history, START, hours=1)  # 11:00-12:00
    record(history, START - timedelta(minutes=10), CALM_MS, fid="other/web")  # not ours
    clock = FakeClock(START - timedelta(seconds=5000))
    clock.advance(5000.0)  # the policy's clock reads 5000 at 12:00
    policy = Recording(settings())

    assert prime_from_history(history, engine(clock, policy), FID) == 3 * 60

    times = [t for t, _, _ in policy.primed]
    assert times == sorted(times)
    wall = [t - 5000.0 + START.timestamp() for t in times]
    assert wall[0] == (START - timedelta(hours=4)).timestamp()
    assert wall[-1] == START.timestamp() - 30.0
    gap = ((START - timedelta(hours=2)).timestamp(), (START - timedelta(hours=1)).timestamp())
    assert not [t for t in wall if gap[0] <= t < gap[1]]
    assert len([t for t in wall if t >= gap[1]]) == 120  # the hour after the gap, beat by beat
    latency = dict(zip(wall, (ms for _, ms, _ in policy.primed), strict=True))
    at_job = (START - timedelta(minutes=28)).timestamp()  # 11:32
    assert (latency[at_job], latency[at_job - 600.0]) == (BUSY_MS, CALM_MS)
    assert {dynos for _, _, dynos in policy.primed} == {3}
    history.close()


def test_no_beat_from_serving_dynos_is_no_load_and_only_the_last_15_days_are_read(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "h.sqlite3")
    record(history, START - timedelta(days=16), BUSY_MS)  # older than 15 days
    for minute in range(10):
        at = START - timedelta(minutes=10 - minute)
        record(history, at, CALM_MS, dynos=0 if minute >= 5 else 3)  # scaled to zero at 11:55
    record(history, START + timedelta(minutes=5), BUSY_MS)  # "later" than now: a clock set back
    policy = Recording(settings())

    assert prime_from_history(history, engine(FakeClock(START), policy), FID) == 5
    assert [round(t) for t, _, _ in policy.primed] == [-600 + 60 * i for i in range(5)]
    history.close()


def test_a_policy_without_prime_is_left_alone(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    hourly_job(history, START, hours=1)
    streak = Engine(
        build_settings(KEYS),
        clock=FakeClock(START),
        probe=ScriptedProbe(),
        scaler=MemoryScaler(3),
        notifiers=[],
    )
    assert prime_from_history(history, streak, FID) is None
    history.close()


def test_beats_since_and_limit_give_the_newest_oldest_first(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    for i in range(10):
        record(history, START + timedelta(minutes=i), CALM_MS)
    t = [b[0] for b in history.beats(FID, since=START.timestamp() + 120.0, limit=3)]
    assert t == [START.timestamp() + 60.0 * i for i in (7, 8, 9)]
    assert len(history.beats(FID, since=START.timestamp() + 120.0)) == 8
    history.close()


def corrupt(path: Path) -> None:
    """Garbage over every page past the tables' roots: the file opens, its beats do not read."""
    db = sqlite3.connect(path)
    last_root = max(r for (r,) in db.execute("SELECT rootpage FROM sqlite_master"))
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[: last_root * size] + b"\x5a" * (len(data) - last_root * size))


def other_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE beats; CREATE TABLE beats (formation TEXT, t REAL);")
    db.close()


def start_headless(raw: dict[str, Any]) -> tuple[Any, str, ExitStack]:
    out = io.StringIO()
    stack = ExitStack()
    fleet = serve_headless(build_settings(raw), LogfmtSink(out), stack, config_path=None)
    return fleet, out.getvalue(), stack


@pytest.fixture
def primes(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[float, float | None, int]]]:
    """What every adaptive policy's ``prime`` is given, call by call."""
    calls: list[list[tuple[float, float | None, int]]] = []
    real = AdaptivePolicy.prime

    def recording(self: AdaptivePolicy, beats: Any) -> None:
        calls.append(list(beats))
        real(self, calls[-1])

    monkeypatch.setattr(AdaptivePolicy, "prime", recording)
    return calls


def test_the_headless_bot_starts_with_what_it_recorded(primes: list[Any]) -> None:
    raw = {**KEYS, "DECISION_BACKEND": "adaptive"}
    fid = formation_id(build_settings(raw))
    history = History(default_path())
    now = datetime.now(UTC)
    for minute in range(30):
        record(history, now - timedelta(minutes=30 - minute), CALM_MS, fid=fid)
    history.close()

    fleet, out, stack = start_headless(raw)
    with stack:
        assert f"event=history formation={fid} learnt_minutes=30" in out
        assert len(primes) == 1 and len(primes[0]) == 30  # once, before the first beat
        clock = fleet.engines[fid].clock
        assert all(
            t < clock.monotonic() for t, _, _ in primes[0]
        )  # the past, on the policy's clock


@pytest.mark.parametrize("damage", [corrupt, other_schema])
def test_a_history_that_cannot_be_read_is_one_warning_and_the_bot_starts(
    damage: Any, caplog: pytest.LogCaptureFixture, primes: list[Any]
) -> None:
    raw = {**KEYS, "DECISION_BACKEND": "adaptive"}
    fid = formation_id(build_settings(raw))
    history = History(default_path())
    now = datetime.now(UTC)
    for i in range(3000):
        record(history, now - timedelta(seconds=30 * (3000 - i)), CALM_MS, fid=fid)
    history.close()
    damage(default_path())

    with caplog.at_level(logging.WARNING):
        fleet, out, stack = start_headless(raw)
    with stack:
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert fid in warnings[0].getMessage() and "not learnt" in warnings[0].getMessage()
        assert "event=history" not in out
        assert list(fleet.engines) == [fid]
        assert primes == []  # nothing made up: the policy learns from its own beats

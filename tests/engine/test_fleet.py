"""Many formations in one bot: each keeps its own beat whatever the others do.

Real threads and the real clock (the fleet's point is concurrency), with
in-memory backends; every wait is bounded.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from autoscalebot.backends.base import Measurement
from autoscalebot.engine import events as ev
from autoscalebot.engine.commands import ForceScale, Pause
from autoscalebot.engine.engine import Engine
from autoscalebot.engine.fleet import Fleet
from autoscalebot.runtime import EngineThread
from tests.conftest import MemoryScaler, ScriptedProbe, make_settings

INTERVAL = 0.05


class HangingProbe:
    """A heartbeat that never answers until released (a hung app)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def measure(self) -> Measurement:
        self.calls += 1
        self.release.wait(10)
        return Measurement(None, error="timed out")

    def close(self) -> None:
        self.release.set()


def engine(probe: Any, events: list[ev.Event], **settings: Any) -> Engine:
    probe.default = 100.0 if isinstance(probe, ScriptedProbe) else None
    return Engine(
        make_settings(
            **{
                "HEARTBEAT_INTERVAL_IN_SECONDS": INTERVAL,
                "MIN_RESPONSE_TIME_IN_MS": 50,
                "MANUAL_HOLD_IN_SECONDS": 600,
                "MAX_DYNOS": 6,
            }
            | settings
        ),
        sink=events.append,
        probe=probe,
        scaler=MemoryScaler(2),
        notifiers=[],
        notify_async=False,
    )


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def beats(events: list[ev.Event]) -> int:
    return sum(isinstance(e, ev.Beat) for e in events)


def test_a_hung_heartbeat_delays_no_other_formation() -> None:
    hung, hung_events = HangingProbe(), []
    fine = {f"app{n}/web": (ScriptedProbe(), []) for n in range(3)}
    engines = {fid: engine(probe, events) for fid, (probe, events) in fine.items()}
    engines["stuck/web"] = engine(hung, hung_events)
    fleet = Fleet(engines, keep_lateness=1000)
    runner = EngineThread(fleet).start()
    try:
        wait_until(lambda: all(beats(events) >= 20 for _, events in fine.values()))
        assert hung.calls == 1  # still in its first beat, and never queued up behind itself
        late = sorted(fleet.lateness())
        assert late[int(len(late) * 0.99)] < 0.5  # nobody waited for the hung one
    finally:
        hung.release.set()
        runner.stop(2.0)
    assert all(isinstance(events[-1], ev.Stopped) for _, events in fine.values())


def test_an_operator_command_is_applied_at_once_not_at_the_next_beat() -> None:
    events: list[ev.Event] = []
    one = engine(ScriptedProbe(), events, HEARTBEAT_INTERVAL_IN_SECONDS=3600)
    other = engine(ScriptedProbe(), [], HEARTBEAT_INTERVAL_IN_SECONDS=3600)
    fleet = Fleet({"a/web": one, "b/web": other})
    runner = EngineThread(fleet).start()
    try:
        wait_until(lambda: beats(events) == 1)  # the first beat, then an hour's wait
        one.submit(ForceScale(to=4))
        wait_until(lambda: one.scaler.count == 4, timeout=5)
        assert other.scaler.count == 2 and beats(events) == 1
    finally:
        runner.stop(2.0)


def test_a_formation_that_crashes_stops_alone() -> None:
    bad_events: list[ev.Event] = []
    good_events: list[ev.Event] = []
    bad = engine(ScriptedProbe(), bad_events)
    good = engine(ScriptedProbe(), good_events)

    def broken() -> None:
        raise RuntimeError("a bug")

    bad.tick = broken  # type: ignore[method-assign]
    fleet = Fleet({"bad/web": bad, "good/web": good})
    runner = EngineThread(fleet).start()
    try:
        wait_until(lambda: any(isinstance(e, ev.Stopped) for e in bad_events))
        before = beats(good_events)
        wait_until(lambda: beats(good_events) > before + 5)
        assert fleet.crashed is not None and "bad/web" in fleet.crashed
    finally:
        runner.stop(2.0)


def test_stopping_never_waits_on_a_hung_call() -> None:
    hung = HangingProbe()
    fleet = Fleet({"stuck/web": engine(hung, []), "ok/web": engine(ScriptedProbe(), [])})
    runner = EngineThread(fleet).start()
    try:
        wait_until(lambda: hung.calls == 1)
        started = time.monotonic()
        runner.stop(1.0)
        assert time.monotonic() - started < 1.5
    finally:
        hung.release.set()


def test_pause_reaches_only_its_formation() -> None:
    a, b = engine(ScriptedProbe(), []), engine(ScriptedProbe(), [])
    fleet = Fleet({"a/web": a, "b/web": b})
    runner = EngineThread(fleet).start()
    try:
        a.submit(Pause())
        assert a.paused and not b.paused
    finally:
        runner.stop(2.0)

"""The run loop: start-to-start schedule, commands between beats, stopping."""

import threading

from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from tests.conftest import MemoryScaler, ScriptedProbe, make_settings


class CountingProbe(ScriptedProbe):
    """Records the fake time of each beat and takes ``cost`` seconds per beat."""

    def __init__(self, clock, engine_box, cost=0.0, stop_after=10):
        super().__init__()
        self.clock, self.box, self.cost, self.stop_after = clock, engine_box, cost, stop_after
        self.times = []

    def measure(self):
        self.times.append(self.clock.monotonic())
        self.clock.advance(self.cost)
        if len(self.times) >= self.stop_after:
            self.box[0].stop()
        return super().measure()


def make(interval, cost, stop_after=6):
    clock = FakeClock()
    box = []
    probe = CountingProbe(clock, box, cost=cost, stop_after=stop_after)
    events = []
    engine = Engine(
        make_settings(HEARTBEAT_INTERVAL_IN_SECONDS=interval),
        sink=events.append,
        clock=clock,
        probe=probe,
        scaler=MemoryScaler(1),
        notifiers=[],
    )
    box.append(engine)
    return engine, probe, events


def test_beats_are_start_to_start():
    engine, probe, _ = make(interval=30, cost=4)
    engine.run()
    assert probe.times == [0, 30, 60, 90, 120, 150]


def test_overrunning_beat_skips_missed_slots_instead_of_bunching():
    engine, probe, _ = make(interval=1, cost=2.5, stop_after=4)
    engine.run()
    assert probe.times == [0, 3, 6, 9]


def test_fractional_intervals():
    engine, probe, _ = make(interval=0.25, cost=0, stop_after=5)
    engine.run()
    assert probe.times == [0, 0.25, 0.5, 0.75, 1.0]


def test_run_ends_with_a_stop_event():
    engine, _, events = make(interval=1, cost=0, stop_after=2)
    engine.run()
    assert events[0].kind == "start"
    assert events[-1].kind == "stop"


def test_stop_from_another_thread_ends_a_real_wait_at_once():
    engine = Engine(
        make_settings(HEARTBEAT_INTERVAL_IN_SECONDS=3600),
        probe=ScriptedProbe(),
        scaler=MemoryScaler(1),
        notifiers=[],
    )
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    engine.stop()
    thread.join(2.0)
    assert not thread.is_alive()


def test_a_crashing_probe_or_sink_never_kills_the_loop():
    clock = FakeClock()
    probe = ScriptedProbe([RuntimeError("boom")] * 3)
    calls = []

    def sink(event):
        calls.append(event.kind)
        raise ValueError("sink bug")

    engine = Engine(
        make_settings(), sink=sink, clock=clock, probe=probe, scaler=MemoryScaler(1), notifiers=[]
    )
    for _ in range(4):
        engine.tick()
    assert calls.count("beat") == 4
    assert "trouble" in calls and "recovered" in calls


def test_a_shorter_interval_applies_to_the_wait_under_way():
    from autoscalebot.engine.commands import UpdateSettings

    clock = FakeClock()
    box = []
    probe = CountingProbe(clock, box, stop_after=4)
    engine = Engine(
        make_settings(HEARTBEAT_INTERVAL_IN_SECONDS=1500),
        clock=clock,
        probe=probe,
        scaler=MemoryScaler(1),
        notifiers=[],
    )
    box.append(engine)

    class EditsAfterFirstBeat:
        def wait(self, seconds, wake):
            if len(probe.times) == 1 and engine.settings.heartbeat_interval_in_seconds == 1500:
                engine.submit(UpdateSettings({"HEARTBEAT_INTERVAL_IN_SECONDS": 1}))
                return True  # woken by the command, as a real submit() does
            return clock.wait(seconds, wake)

        def __getattr__(self, name):
            return getattr(clock, name)

    engine.clock = EditsAfterFirstBeat()
    engine.run()
    assert probe.times == [0, 1, 2, 3]

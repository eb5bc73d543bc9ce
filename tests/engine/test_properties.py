"""Safety rules as properties: random operation sequences on a fake clock.

Whatever happens (beats, schedule boundaries, scaling by hand, pauses,
force-scales, API failures, settings reloads), the engine never asks for a
count outside that moment's bounds (except an explicit override), never
scales automatically while paused (the operator's forced scales go on), respects the cool-off, and records only what the
platform confirmed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscalebot.backends.base import ScalerError
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.commands import ForceScale, Pause, Resume, UpdateSettings
from autoscalebot.engine.engine import Engine
from tests.conftest import MemoryScaler, ScriptedProbe, make_settings

COOL_OFF = 45.0


class CheckingScaler(MemoryScaler):
    """Checks the safety rules at the moment of every scale call."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.engine: Engine | None = None
        self.violations: list[str] = []
        self.override_ok = False
        self.operator_scaling = False

    def scale_to(self, quantity: int) -> int:
        engine = self.engine
        assert engine is not None
        bounds = engine.bounds()
        if quantity not in bounds and not self.override_ok:
            self.violations.append(f"asked for {quantity} outside {bounds}")
        if engine.paused and not self.operator_scaling:
            self.violations.append("scaled automatically while paused")
        return super().scale_to(quantity)


latencies = st.sampled_from([None, 50.0, 500.0, 1500.0, (20.0, 503)])
beat = st.tuples(st.just("beat"), latencies)
actions = st.one_of(
    beat,
    beat,
    beat,
    beat,  # beats are most of what happens
    st.tuples(st.just("wait"), st.sampled_from([1.0, 30.0, 600.0, 3 * 3600.0])),
    st.tuples(st.just("by_hand"), st.integers(0, 9)),
    st.tuples(st.just("pause"), st.none()),
    st.tuples(st.just("resume"), st.none()),
    st.tuples(st.just("force"), st.sampled_from([-2, -1, 1, 2])),
    st.tuples(st.just("override"), st.integers(0, 9)),
    st.tuples(st.just("fail_scale"), st.sampled_from(["server", "rate_limited"])),
    st.tuples(st.just("fail_read"), st.none()),
    st.tuples(st.just("reload"), st.tuples(st.integers(0, 3), st.integers(1, 6))),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=10, max_size=80), st.integers(0, 9))
def test_safety_rules_hold_for_any_sequence(ops, start_count):
    clock = FakeClock(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    probe = ScriptedProbe()
    scaler = CheckingScaler(start_count)
    events: list = []
    platform_after: list[tuple[int, int]] = []

    def sink(event):
        events.append(event)
        if event.kind == "scale":
            platform_after.append((event.after, scaler.count))

    engine = Engine(
        make_settings(
            MIN_DYNOS={"0:00": 1, "8:00": 2, "18:00": 1},
            MAX_DYNOS={"0:00": 3, "9:00": 5, "17:00": 3},
            NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=2,
            NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER=2,
            COOL_OFF_IN_SECONDS=COOL_OFF,
            MANUAL_HOLD_IN_SECONDS=120,
            INCREMENT=2,
        ),
        sink=sink,
        clock=clock,
        probe=probe,
        scaler=scaler,
        notifiers=[],
    )
    scaler.engine = engine

    for op, arg in ops:
        scaler.override_ok = op == "override"
        scaler.operator_scaling = op in {"force", "override"}
        if op == "beat":
            probe.push(arg)
            engine.tick()
            clock.advance(30)
        elif op == "wait":
            clock.advance(arg)
        elif op == "by_hand":
            scaler.count = arg
        elif op == "pause":
            engine.submit(Pause())
        elif op == "resume":
            engine.submit(Resume())
        elif op == "force":
            engine.submit(ForceScale(delta=arg))
        elif op == "override":
            engine.submit(ForceScale(to=arg, override=True))
        elif op == "fail_scale":
            scaler.fail_next.append(
                ScalerError("injected", kind=arg, retry_after=60 if arg == "rate_limited" else None)
            )
        elif op == "fail_read":
            scaler.fail_reads.append(ScalerError("injected", kind="server"))
        elif op == "reload":
            low, high = arg
            engine.submit(UpdateSettings({"MIN_DYNOS": low, "MAX_DYNOS": high}))
        engine.apply_commands()
        scaler.override_ok = False

    assert scaler.violations == []
    # The recorded count is the platform's after every successful call.
    assert all(recorded == actual for recorded, actual in platform_after)
    # Automatic (non-manual, non-correction) scales respect the cool-off.
    last = None
    for event in events:
        if event.kind != "scale":
            continue
        at = event.at.timestamp()
        automatic = not event.manual and "outside the window" not in event.reason
        if automatic and last is not None:
            assert at - last >= COOL_OFF, (
                f"automatic scale {at - last:.0f} s after the previous one"
            )
        last = at
    # A reload that would put MIN above MAX was refused, never applied.
    for minute in range(0, 24 * 60, 30):
        assert engine.settings.min_dynos.value_at_minute(
            minute
        ) <= engine.settings.max_dynos.value_at_minute(minute)

"""Bounds: out-of-bounds correction, schedules in time, the safety rule."""

from datetime import UTC, datetime

from autoscalebot.engine.clock import FakeClock

SLOW, FAST, OK = 1500, 100, 500


def test_count_above_max_moves_straight_to_max(harness):
    h = harness(count=7, MAX_DYNOS=3)
    h.beats(OK)
    assert h.scaler.requests == [3]


def test_count_below_min_moves_straight_to_min(harness):
    h = harness(count=0, MIN_DYNOS=2)
    h.beats(OK)
    assert h.scaler.requests == [2]


def test_schedule_boundary_pulls_count_down(harness):
    h = harness(count=5, MAX_DYNOS={"0:00": 2, "9:00": 5, "17:00": 2})
    h.clock = h.engine.clock = FakeClock(datetime(2026, 1, 5, 16, 59, tzinfo=UTC))
    h.beats(OK)
    assert h.scaler.requests == []
    h.clock.advance(60)
    h.beats(OK)
    assert h.scaler.requests == [2]


def test_schedule_wraps_around_midnight(harness):
    # Before the first entry of the day, yesterday's last entry holds.
    h = harness(count=1, MIN_DYNOS={"8:00": 3, "18:00": 2}, MAX_DYNOS=5)
    h.clock = h.engine.clock = FakeClock(datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    h.beats(OK)
    assert h.scaler.requests == [2]


def test_time_zone_decides_the_local_hour(harness):
    # 17:30 UTC is 9:30 in Vancouver (PST, UTC-8): the day window holds.
    h = harness(
        count=1, TIME_ZONE="America/Vancouver", MIN_DYNOS={"0:00": 1, "9:00": 3}, MAX_DYNOS=5
    )
    h.clock = h.engine.clock = FakeClock(datetime(2026, 1, 5, 17, 30, tzinfo=UTC))
    h.beats(OK)
    assert h.scaler.requests == [3]


def test_minute_boundary_is_inclusive(harness):
    h = harness(count=1, MIN_DYNOS={"0:00": 1, "9:30": 2}, MAX_DYNOS=5)
    h.clock = h.engine.clock = FakeClock(datetime(2026, 1, 5, 9, 29, 59, tzinfo=UTC))
    h.beats(OK, every=1)
    assert h.scaler.requests == []
    h.beats(OK)
    assert h.scaler.requests == [2]


def test_correction_ignores_cool_off_but_not_pause(harness):
    from autoscalebot.engine.commands import Pause, Resume

    h = harness(count=1, COOL_OFF_IN_SECONDS=3600)
    h.beats(SLOW, SLOW, SLOW)
    assert h.scaler.requests == [2]
    h.scaler.count = 9  # someone scaled by hand, far above max
    h.engine.submit(Pause())
    h.engine.apply_commands()
    h.clock.advance(120)
    h.beats(OK)
    assert h.scaler.requests == [2]
    h.engine.submit(Resume())
    h.engine.apply_commands()
    h.beats(OK)
    assert h.scaler.requests == [2, 3]


def test_bounds_in_status_show_the_next_change(harness):
    h = harness(count=1, MAX_DYNOS={"0:00": 2, "9:00": 5, "17:00": 2})
    h.clock = h.engine.clock = FakeClock(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    status = h.engine.status()
    assert (status.min, status.max) == (1, 5)
    assert status.next_bounds_change == datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    assert status.next_bounds == (1, 2)

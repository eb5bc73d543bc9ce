"""Schedules: parsing, wrap-around, next change."""

from datetime import UTC, datetime

import pytest

from autoscalebot.engine.schedule import Schedule, ScheduleError


def test_constant():
    s = Schedule.parse(4)
    assert s.value_at_minute(0) == 4 and s.value_at_minute(1439) == 4
    assert s.next_change(datetime(2026, 1, 1, tzinfo=UTC), UTC) is None


def test_entries_hold_until_the_next_and_wrap():
    s = Schedule.parse({"9:00": 5, "17:00": 2})
    assert s.value_at_minute(8 * 60 + 59) == 2  # yesterday's 17:00 entry
    assert s.value_at_minute(9 * 60) == 5
    assert s.value_at_minute(16 * 60 + 59) == 5
    assert s.value_at_minute(17 * 60) == 2


def test_next_change_crosses_midnight():
    s = Schedule.parse({"0:00": 2, "9:00": 5, "17:00": 2})
    at, value = s.next_change(datetime(2026, 1, 5, 20, 0, tzinfo=UTC), UTC)
    assert (at, value) == (datetime(2026, 1, 6, 9, 0, tzinfo=UTC), 5)


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"9": 1}, "H:MM"),
        ({"24:00": 1}, "hours go 0-23"),
        ({"9:60": 1}, "minutes 00-59"),
        ({"9:00": -1}, "negative"),
        ({"9:00": "3"}, "whole number"),
        ({}, "empty"),
        ({"9:00": 1, "09:00": 2}, "same time"),
        (True, "whole number"),
        ("x", "schedule"),
        (-2, "negative"),
    ],
)
def test_bad_schedules_say_what_is_wrong(raw, words):
    with pytest.raises(ScheduleError, match=words):
        Schedule.parse(raw)


def test_round_trip_to_raw():
    raw = {"0:00": 2, "9:00": 5, "17:30": 2}
    assert Schedule.parse(raw).to_raw() == raw
    assert Schedule.parse(3).to_raw() == 3


def test_an_entry_in_a_spring_forward_gap_is_shown_at_the_jump_a_time_that_exists():
    # 2026-03-08 in New York: clocks go from 1:59:59 EST to 3:00 EDT; 2:30 never happens.
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    s = Schedule.parse({"0:00": 1, "2:30": 4, "8:00": 1})
    at, value = s.next_change(datetime(2026, 3, 8, 1, 0, tzinfo=ny), ny)
    assert value == 4
    assert (at.hour, at.minute) == (3, 0)  # the first minute that exists after the gap
    assert at.astimezone(UTC) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 3:00 EDT
    # ... which is when the value really changes: 1:59 EST still 1, 3:00 EDT already 4.
    assert s.value_at(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), ny) == 1
    assert s.value_at(at, ny) == 4
    # The day after, 2:30 exists again and is the time shown.
    at, _ = s.next_change(datetime(2026, 3, 9, 1, 0, tzinfo=ny), ny)
    assert (at.day, at.hour, at.minute) == (9, 2, 30)


def test_two_entries_in_one_gap_change_once_to_the_later_value():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    s = Schedule.parse({"0:00": 1, "2:15": 5, "2:45": 7})
    at, value = s.next_change(datetime(2026, 3, 8, 1, 0, tzinfo=ny), ny)
    assert ((at.hour, at.minute), value) == ((3, 0), 7)

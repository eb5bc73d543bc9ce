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

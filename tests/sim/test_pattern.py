"""What repeats: a job on the hour is foreseen after three hours, a trend or a one-off is not."""

from __future__ import annotations

import pytest

from autoscalebot.backends.policies.pattern import DAY, HOUR, Repeats


def feed(r: Repeats, hours: int, load, every: float = 30.0) -> None:
    t = 0.0
    while t < hours * HOUR:
        r.add(t, load(t))
        t += every


def on_the_hour(t: float) -> float:
    return 100.0 if 600.0 <= t % HOUR < 900.0 else 20.0  # a job at :10 for five minutes


def test_a_job_on_the_hour_is_foreseen_once_three_hours_showed_it():
    r = Repeats()
    feed(r, 3, on_the_hour)
    now = 3 * HOUR + 500.0  # 1 min 40 s before the job, a boot and a beat ahead
    rise, period = r.rise(now, now + 75.0)
    assert rise == pytest.approx(80.0) and period == HOUR
    assert r.rise(3 * HOUR + 1200.0, 3 * HOUR + 1275.0)[0] == 0.0  # nothing comes after it


def test_two_hours_are_not_enough_and_one_hour_without_it_forgets_it():
    r = Repeats()
    feed(r, 2, on_the_hour)
    assert r.rise(2 * HOUR + 500.0, 2 * HOUR + 575.0)[0] == 0.0
    r = Repeats()
    feed(r, 4, lambda t: on_the_hour(t) if t < 3 * HOUR else 20.0)  # switched off in hour 3
    assert r.rise(4 * HOUR + 500.0, 4 * HOUR + 575.0)[0] == 0.0


def test_a_steady_climb_is_no_rise_and_a_one_off_is_never_repeated():
    r = Repeats()
    feed(r, 5, lambda t: 10.0 + t / 360.0)  # +10 rps an hour, all day
    assert r.rise(5 * HOUR + 500.0, 5 * HOUR + 575.0)[0] < 1.0
    r = Repeats()
    feed(r, 5, lambda t: 200.0 if HOUR + 600.0 <= t < HOUR + 900.0 else 20.0)  # once
    assert r.rise(5 * HOUR + 500.0, 5 * HOUR + 575.0)[0] == 0.0


def test_a_daily_peak_needs_two_days_and_survives_a_dump_and_load():
    r = Repeats()
    feed(r, 48, lambda t: 150.0 if 9 * HOUR <= t % DAY < 9.5 * HOUR else 30.0, every=60.0)
    now = 2 * DAY + 9 * HOUR - 80.0
    rise, period = r.rise(now, now + 75.0)
    assert rise == pytest.approx(120.0) and period == DAY
    again = Repeats()
    again.load(r.dump())
    assert again.rise(now, now + 75.0) == (rise, period)

"""What repeats: a job on the hour is foreseen after three hours, a daily peak after two
days; a trend, a one-off and noise are not; a period that stops is dropped."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from autoscalebot.backends.policies.pattern import DAY_MIN, MINUTE, Repeats

HOUR = 60 * MINUTE
DAY = DAY_MIN * MINUTE
SWING = 15.0  # a dyno's worth of load


def load_of(ratio: float, dynos: int) -> float:
    """A reading of ``ratio`` on ``dynos`` is that much load per dyno (any monotone model will do)."""
    return ratio * dynos


def feed(
    r: Repeats,
    hours: float,
    load: Callable[[float], float],
    every: float = 30.0,
    start: float = 0.0,
    dynos: int = 2,
) -> None:
    t = start
    while t < start + hours * HOUR:
        r.add(t, load(t) / dynos, dynos)
        t += every


def on_the_hour(t: float) -> float:
    return 100.0 if 600.0 <= t % HOUR < 900.0 else 20.0  # a job at :10 for five minutes


def test_a_job_on_the_hour_is_foreseen_once_three_hours_showed_it() -> None:
    r = Repeats(load_of)
    now = 3 * HOUR + 500.0  # 1 min 40 s before the job, a boot and a beat ahead
    feed(r, now / HOUR, on_the_hour)
    period = r.period(now, SWING)
    assert period is not None and period.lag == 60
    assert period.most(188, 189) == pytest.approx(100.0, abs=2.0)  # the job comes at :10
    assert period.most(200, 225) < 25.0  # :20 to :45, calm: the bot may give dynos back
    assert r.rise(now, now + 75.0) == (0.0, None)  # the calendar has nothing yet


def test_two_hours_are_not_enough_and_an_hour_without_it_forgets_it() -> None:
    r = Repeats(load_of)
    feed(r, 2, on_the_hour)
    assert r.period(2 * HOUR, SWING) is None
    r = Repeats(load_of)
    feed(r, 4, lambda t: on_the_hour(t) if t < 3 * HOUR else 20.0)  # switched off in hour 3
    assert r.period(4 * HOUR, SWING) is None


def test_a_steady_climb_is_no_period_and_a_one_off_is_never_repeated() -> None:
    r = Repeats(load_of)
    feed(r, 6, lambda t: 10.0 + t / 120.0)  # +30 rps an hour, all day
    assert r.period(6 * HOUR, SWING) is None
    r = Repeats(load_of)
    feed(r, 5, lambda t: 200.0 if HOUR + 600.0 <= t < HOUR + 900.0 else 20.0)  # once
    assert r.period(5 * HOUR, SWING) is None


@pytest.mark.parametrize("seed", range(5))
def test_noise_is_no_period_and_a_noisy_wave_still_is(seed: int) -> None:
    rng = random.Random(seed)
    noisy = Repeats(load_of)
    feed(noisy, 8, lambda t: max(0.0, rng.gauss(60.0, 20.0)))
    assert [m for m in range(0, 120, 10) if noisy.period(8 * HOUR + m * MINUTE, SWING)] == []
    wave = Repeats(load_of)
    feed(wave, 8, lambda t: max(0.0, rng.gauss(100.0 if t % 1200.0 < 600.0 else 40.0, 20.0)))
    found = wave.period(8 * HOUR, SWING)
    assert found is not None and found.lag == 20  # ten minutes busy, ten calm


def test_a_period_is_read_from_minutes_seen_and_gaps_are_no_load() -> None:
    r = Repeats(load_of)
    feed(r, 4, on_the_hour)
    feed(r, 4, on_the_hour, start=6 * HOUR)  # down for two hours
    assert r.value(int(5 * HOUR // MINUTE)) is None
    period = r.period(10 * HOUR, SWING)
    assert period is not None and period.lag == 60
    assert period.most(610, 611) == pytest.approx(100.0, abs=2.0)


def test_a_daily_peak_needs_two_days() -> None:
    def peak(t: float) -> float:
        return 150.0 if 9 * HOUR <= t % DAY < 9.5 * HOUR else 30.0

    r = Repeats(load_of)
    feed(r, 24, peak, every=60.0)
    now = DAY + 9 * HOUR - 80.0
    assert r.rise(now, now + 75.0)[0] == 0.0  # one day: it may have been a one-off
    feed(r, 24, peak, every=60.0, start=DAY)
    now = 2 * DAY + 9 * HOUR - 80.0
    rise, lag = r.rise(now, now + 75.0)
    assert rise == pytest.approx(120.0) and lag == DAY_MIN


def test_readings_that_are_no_numbers_are_no_data() -> None:
    r = Repeats(load_of)
    for t, ratio, dynos in [
        (math.nan, 1.0, 2),
        (60.0, math.nan, 2),
        (60.0, math.inf, 2),
        (60.0, -1.0, 2),
        (60.0, 1.0, 0),
        (math.inf, 1.0, 2),
    ]:
        r.add(t, ratio, dynos)
    assert r.value(1) is None and r.noise(120.0) == 0.0
    r.add(60.0, 1.5, 2)
    assert r.value(1) == 3.0

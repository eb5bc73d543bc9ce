"""Metrics on hand-made runs."""

from __future__ import annotations

import math

import pytest

from autoscalebot.sim.metrics import Metrics, reaction_times, reversals, summarise


def test_a_reversal_is_a_change_of_direction_within_ten_minutes():
    scales = [(0.0, 1, 2), (100.0, 2, 1), (800.0, 1, 2), (900.0, 2, 3), (1000.0, 3, 2)]
    assert (
        reversals(scales) == 2
    )  # 100 s (up then down) and 1000 s (up then down); 800 s is 700 s later
    assert reversals([]) == 0
    assert reversals(scales, window_s=1000.0) == 3


def test_reaction_is_the_time_to_the_first_beat_with_enough_dynos():
    enough = [True] * 3 + [False] * 3 + [True] * 10
    assert reaction_times([100.0], 30.0, enough) == [80.0]  # beat 6, at 180 s
    assert reaction_times([95.0], 30.0, [True] * 10) == [25.0]  # the first beat after the step
    # Never met before the next step: the whole span counts.
    assert reaction_times([0.0, 150.0], 30.0, [False] * 10) == [150.0, 150.0]
    assert reaction_times([0.0], 30.0, [False] * 10, cap_s=60.0) == [60.0]


def row(policy: str, seed: int, hours: float, slow: float, react: float | None) -> Metrics:
    return Metrics(policy, "t", seed, hours, hours / 10.0, slow, 0.0, 4, 1, react)


def test_summaries_are_means_over_seeds():
    m = summarise(
        [row("p", 0, 10.0, 1.0, 30.0), row("p", 1, 20.0, 3.0, None), row("p", 2, 30.0, 2.0, 90.0)],
        "p",
        "t",
    )
    assert (m.dyno_hours, m.vs_oracle, m.slow_pct, m.scales) == (20.0, 2.0, 2.0, 4)
    assert m.reaction_s == 60.0
    assert summarise([row("p", 0, 1.0, 0.0, None)], "p", "t").reaction_s is None
    assert math.isnan(Metrics("p", "t", 0, 1, math.nan, 0, 0, 0, 0, None).vs_oracle)
    with pytest.raises(ZeroDivisionError):
        summarise([], "p", "t")

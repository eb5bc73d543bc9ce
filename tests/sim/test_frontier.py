"""Frontiers: the points that matter, the cost at a slow share, and the verdict per baseline."""

from __future__ import annotations

import pytest

from autoscalebot.config import build_settings
from autoscalebot.sim import frontier
from autoscalebot.sim.frontier import Point, compare, cost_at, pareto

P = Point


def test_the_frontier_drops_points_another_beats_on_both_counts():
    pts = [P("a", 1.0, 2.0), P("b", 2.0, 2.5), P("c", 4.0, 1.5), P("d", 0.5, 3.0)]
    assert [p.knob for p in pareto(pts)] == ["d", "a", "c"]  # b: slower and dearer than a


def test_cost_at_a_slow_share_interpolates_in_log_share_and_holds_past_the_cheapest():
    front = pareto([P("tight", 0.1, 3.0), P("loose", 10.0, 1.0)])
    assert cost_at(front, 1.0) == pytest.approx(2.0)  # halfway in log10
    assert cost_at(front, 50.0) == 1.0  # looser than its cheapest point: that point serves
    assert cost_at(front, 0.01) is None  # it never gets that few slow requests


def test_compare_reports_gains_losses_and_shares_never_reached():
    ours = [P("p99", 0.5, 2.0), P("p90", 5.0, 1.2)]
    theirs = [
        P("tight", 0.1, 4.0),
        P("mid", 1.0, 2.5),
        P("loose", 5.0, 1.0),
        P("broken", 40.0, 0.5),
    ]
    c = compare(ours, theirs, "base")
    gains = {p.knob: g for p, g in c.gains}
    assert gains["tight"] is None  # 0.1 % slow: below anything ours reaches
    assert gains["mid"] is not None and gains["mid"] > 0.2
    assert gains["loose"] == pytest.approx(1.0 - 1.2 / 1.0)  # 20 % dearer
    assert "broken" not in gains  # 40 % slow: outside the range a verdict judges
    assert not c.wins_everywhere
    worst, _, best, where = frontier.summary(c)
    assert worst == "-20.0%" and "tight (0.10 % slow): not reached" in where
    assert "loose (5.00 % slow): 20.0% dearer" in where


def test_every_knob_setting_is_a_valid_settings_object_and_the_first_is_the_default():
    base = build_settings({"TIME_ZONE": "UTC"}, require_platform=False)
    for policy, knobs in frontier.KNOBS.items():
        grid = frontier.settings_grid(policy, base)
        assert grid[0] == (policy, base)  # the default setting, unlabelled
        assert len({label for label, _ in grid}) == len(knobs)
        for (_, s), (_, over) in zip(grid, knobs, strict=True):
            # What the settings' own validation makes of the same values.
            checked = build_settings({"TIME_ZONE": "UTC", **over}, require_platform=False)
            assert s == checked

"""The load generator's trace replay: the arrivals follow the trace's rate, step by step.

No network and no waiting: only the arrival schedule the replay sends on.
"""

from __future__ import annotations

import math
import random

from tests.closed_loop.harness import arrival_offsets


def test_arrivals_keep_each_steps_count_within_poisson_noise():
    rates = [5.0] * 15 + [50.0] * 30 + [0.0] * 5 + [5.0] * 20
    step = 1.0
    offsets = arrival_offsets(rates, step, random.Random(3))

    assert offsets == sorted(offsets)
    assert all(0.0 <= t < len(rates) * step for t in offsets)
    # The whole trace, and each level of it, within 4 standard deviations of Poisson noise.
    for lo, hi in ((0, 15), (15, 45), (50, 70), (0, 70)):
        expected = sum(rates[lo:hi]) * step
        got = sum(1 for t in offsets if lo * step <= t < hi * step)
        assert abs(got - expected) <= 4 * math.sqrt(expected), (lo, hi, got, expected)
    # A step with no load gets no arrivals.
    assert not [t for t in offsets if 45 <= t < 50]


def test_same_seed_same_arrivals_and_compressed_steps_scale_the_count():
    rates = [20.0, 40.0, 10.0]
    assert arrival_offsets(rates, 0.5, random.Random(7)) == arrival_offsets(
        rates, 0.5, random.Random(7)
    )
    # Half-second steps carry half the requests of one-second steps at the same rates.
    many = [20.0] * 200
    half = len(arrival_offsets(many, 0.5, random.Random(1)))
    full = len(arrival_offsets(many, 1.0, random.Random(1)))
    assert abs(half - 2000) <= 4 * math.sqrt(2000)
    assert abs(full - 4000) <= 4 * math.sqrt(4000)

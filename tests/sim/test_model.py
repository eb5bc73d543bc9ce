"""The app model: queueing formulas, boot delay, overload and timeouts."""

from __future__ import annotations

import random
import statistics

import pytest

from autoscalebot.backends.policies.queueing import erlang_c, mean_ratio, utilisation_from_mean
from autoscalebot.sim.model import (
    AppModel,
    World,
    mean_latency_ms,
    needed_dynos,
    sample_latency_ms,
    slow_share,
)

MODEL = AppModel(service_ms=100.0, concurrency=2, boot_seconds=45.0)


def test_erlang_c_matches_the_closed_forms():
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: the chance to wait is rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # M/M/2: 2 rho^2 / (1 + rho) at rho = 0.5
    assert erlang_c(4, 0.0) == 0.0


def test_latency_and_slow_share_grow_with_load():
    loads = [0.0, 5.0, 10.0, 15.0, 18.0, 19.5]
    means = [mean_latency_ms(MODEL, rps, 1) for rps in loads]
    shares = [slow_share(MODEL, rps, 1, 1000.0) for rps in loads]
    assert means == sorted(means) and means[0] == pytest.approx(100.0)
    assert shares == sorted(shares) and shares[-1] > 10 * shares[1]


def test_more_dynos_means_faster_answers():
    assert (
        mean_latency_ms(MODEL, 30.0, 2)
        > mean_latency_ms(MODEL, 30.0, 3)
        > mean_latency_ms(MODEL, 30.0, 6)
    )
    assert needed_dynos(MODEL, 30.0, 1000.0, 0.05) < needed_dynos(MODEL, 60.0, 1000.0, 0.05)


def test_a_heartbeat_is_a_draw_from_the_response_time_distribution():
    rng = random.Random(4)
    draws = [sample_latency_ms(MODEL, 30.0, 2, rng) for _ in range(40_000)]
    assert statistics.fmean(draws) == pytest.approx(mean_latency_ms(MODEL, 30.0, 2), rel=0.03)
    over = sum(d > 1000.0 for d in draws) / len(draws)
    assert over == pytest.approx(slow_share(MODEL, 30.0, 2, 1000.0), abs=0.005)


def test_utilisation_inverts_the_mean():
    for k in (1, 2, 4):
        for rho in (0.1, 0.5, 0.8, 0.95):
            assert utilisation_from_mean(k, mean_ratio(k, rho)) == pytest.approx(rho, abs=1e-3)


def world(rps: float, dynos: int, **kw) -> World:
    return World(MODEL, [rps] * 60, 60.0, target_ms=1000.0, dynos=dynos, seed=1, **kw)


def test_new_dynos_serve_only_after_the_boot_delay_but_are_billed_from_the_call():
    w = world(10.0, 1)
    w.advance(100.0)
    w.scale_to(3)
    assert (w.count, w.serving) == (3, 1)
    w.advance(144.0)
    assert w.serving == 1
    w.advance(145.0)
    assert w.serving == 3
    assert w.dyno_seconds == pytest.approx(100.0 + 3 * 45.0)


def test_scaling_down_stops_the_newest_dynos_first():
    w = world(10.0, 2)
    w.advance(10.0)
    w.scale_to(4)  # two booting
    w.scale_to(3)  # one of the booting ones goes
    assert (w.count, w.serving) == (3, 2)
    w.scale_to(1)
    assert (w.count, w.serving) == (1, 1)
    assert [(b, a) for _, b, a in w.scales] == [(2, 4), (4, 3), (3, 1)]


def test_timed_out_requests_keep_their_dyno_busy_so_the_backlog_grows_past_the_timeout():
    w = world(60.0, 1)  # three times what one dyno serves
    w.advance(10.0)
    assert w.backlog_s == pytest.approx(20.0)  # grows at (rho - 1) seconds per second
    w.advance(40.0)
    # The router gave up on these after 30 s; the dyno did not, so the queue holds 80 s.
    assert w.backlog_s == pytest.approx(80.0)
    assert w.refused == 0.0
    assert w.timeouts / w.requests > 0.5
    assert w.sample_ms() == pytest.approx(30_000.0)  # the heartbeat times out at the router


def test_a_full_listen_queue_refuses_the_excess():
    w = world(60.0, 1)
    w.advance(600.0)
    cap = MODEL.backlog_cap_s  # 2048 requests at 20 rps: 102.4 s
    assert w.backlog_s == pytest.approx(cap)
    # Once full (after cap / 2 s), two thirds of the arrivals are refused.
    assert w.refused == pytest.approx((600.0 - cap / 2.0) * 40.0, rel=1e-6)
    assert w.timeouts / w.requests > 0.95


def test_a_backlog_stays_on_the_dyno_it_queued_on():
    w = world(30.0, 1)
    w.advance(60.0)
    assert w.backlog_s == pytest.approx(30.0)  # rho 1.5 for a minute
    w.scale_to(4)
    w.advance(105.0)  # the new dynos serve from here; the old one holds 52.5 s
    assert w.delays == pytest.approx([52.5, 0.0, 0.0, 0.0])
    # Each dyno now gets 7.5 rps of 20: the old one drains at 0.625 s per second,
    # not four times as fast as if the router could spread its queue.
    w.advance(105.0 + 60.0)
    assert w.backlog_s == pytest.approx(52.5 - 0.625 * 60.0)
    w.advance(105.0 + 84.0)
    assert w.backlog_s == 0.0 and not w.backlogged


def test_a_heartbeat_lands_on_a_backlogged_dyno_in_proportion():
    w = world(30.0, 1)
    w.advance(60.0)
    w.scale_to(4)
    w.advance(105.0)
    draws = [w.sample_ms() for _ in range(4000)]
    slow = sum(d >= 30_000.0 for d in draws) / len(draws)
    assert slow == pytest.approx(0.25, abs=0.03)  # one dyno in four holds the 52 s queue


def test_utilisation_past_98_percent_is_modelled_not_capped():
    at_98 = mean_latency_ms(MODEL, 0.98 * 20.0, 1)
    at_99 = mean_latency_ms(MODEL, 0.99 * 20.0, 1)
    assert at_99 > 1.8 * at_98  # the mean wait doubles from 98 % to 99 %
    assert slow_share(MODEL, 0.99 * 20.0, 1, 1000.0) > slow_share(MODEL, 0.98 * 20.0, 1, 1000.0)


def test_no_serving_dyno_fails_every_request():
    w = World(MODEL, [10.0] * 10, 60.0, target_ms=1000.0, dynos=0)
    w.advance(60.0)
    assert w.slow == w.requests == w.timeouts == pytest.approx(600.0)


def _fine(w: World, until: float, dt: float = 0.01) -> None:
    t = w.t
    while t < until - 1e-9:
        t = min(until, t + dt)
        w.advance(t)


@pytest.mark.parametrize(
    ("rps", "backlog", "span"),
    [
        (10.0, 2.0, 30.0),  # half busy: a 2 s backlog clears in 4 s of a 30 s segment
        (15.0, 3.0, 30.0),  # clears in 12 s
        (30.0, 0.0, 30.0),  # overload from nothing: grows all segment long
        (60.0, 20.0, 30.0),  # passes the router's 30 s timeout after 5 s
        (60.0, 95.0, 30.0),  # fills the listen queue after 3.7 s
    ],
)
def test_one_long_segment_charges_the_backlog_like_a_fine_stepped_reference(rps, backlog, span):
    coarse, fine = world(rps, 1), world(rps, 1)
    coarse.backlog_s = fine.backlog_s = backlog
    coarse.advance(span)
    _fine(fine, span)
    assert coarse.backlog_s == pytest.approx(fine.backlog_s, abs=1e-6)
    assert coarse.requests == pytest.approx(fine.requests)
    assert coarse.slow / coarse.requests == pytest.approx(fine.slow / fine.requests, abs=0.005)
    assert coarse.timeouts / coarse.requests == pytest.approx(
        fine.timeouts / fine.requests, abs=0.005
    )

"""Queueing formulas for an app whose dynos are M/M/k queues.

Pure math, shared by the decision backends that reason about utilisation and
by the simulator's app model (``autoscalebot.sim.model``). A dyno runs ``k``
workers, each serving at ``mu`` requests per second; ``offered`` is the
arrival rate over ``mu`` (so utilisation is ``offered / k``).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from functools import lru_cache


def erlang_c(k: int, offered: float) -> float:
    """Chance an arrival has to wait, for ``offered`` below ``k``."""
    if offered <= 0.0:
        return 0.0
    b = 1.0  # Erlang B by its stable recurrence, then C from B
    for j in range(1, k + 1):
        b = offered * b / (j + offered * b)
    return b / (1.0 - offered / k * (1.0 - b))


def response_tail(x: float, c: float, theta: float, mu: float) -> float:
    """P(response time > x seconds): no wait with chance 1 - c, else Exp(theta) wait; then Exp(mu) service."""
    if x <= 0.0:
        return 1.0
    e_mu = math.exp(-mu * x)
    if c <= 0.0:
        return e_mu
    if abs(theta - mu) < 1e-9 * mu:
        hypo = (1.0 + mu * x) * e_mu
    else:
        hypo = (theta * e_mu - mu * math.exp(-theta * x)) / (theta - mu)
    return (1.0 - c) * e_mu + c * hypo


def terms(k: int, mu: float, rho: float) -> tuple[float, float]:
    """(chance to wait, wait rate theta) at utilisation ``rho`` < 1."""
    return erlang_c(k, rho * k), k * mu * (1.0 - rho)


def mean_ratio(k: int, rho: float) -> float:
    """Mean response time over the mean service time, at utilisation ``rho``."""
    if rho <= 0.0:
        return 1.0
    return 1.0 + erlang_c(k, rho * k) / (k * (1.0 - rho))


def over_share(k: int, rho: float, x_over_s: float) -> float:
    """Share of requests slower than ``x_over_s`` mean service times, at utilisation ``rho``."""
    if rho <= 0.0:
        return math.exp(-x_over_s)
    c, theta = terms(k, 1.0, rho)
    return response_tail(x_over_s, c, theta, 1.0)


_GRID = 2000
_TOP = 0.995


@lru_cache(maxsize=16)
def _ratios(k: int) -> tuple[float, ...]:
    return tuple(mean_ratio(k, _TOP * i / _GRID) for i in range(_GRID + 1))


def utilisation_from_mean(k: int, ratio: float) -> float:
    """Utilisation whose mean response time is ``ratio`` mean service times (table lookup)."""
    table = _ratios(k)
    if ratio <= 1.0:
        return 0.0
    i = bisect_left(table, ratio)
    if i > _GRID:
        return _TOP
    lo, hi = table[i - 1], table[i]
    frac = (ratio - lo) / (hi - lo) if hi > lo else 0.0
    return _TOP * (i - 1 + frac) / _GRID


@lru_cache(maxsize=64)
def utilisation_for_share(k: int, x_over_s: float, share: float) -> float:
    """Highest utilisation keeping the share of requests slower than ``x_over_s`` at or below ``share``."""
    lo, hi = 0.0, _TOP
    if over_share(k, lo, x_over_s) > share:
        return 0.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if over_share(k, mid, x_over_s) <= share:
            lo = mid
        else:
            hi = mid
    return lo


def chi2_quantile(nu: int, z: float) -> float:
    """Chi-square quantile with ``nu`` degrees of freedom at standard-normal ``z`` (Wilson-Hilferty)."""
    a = 2.0 / (9.0 * nu)
    return nu * max(1e-9, 1.0 - a + z * math.sqrt(a)) ** 3

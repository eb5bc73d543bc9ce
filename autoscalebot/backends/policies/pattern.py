"""What repeats: load that comes back after a fixed lag.

A :class:`Repeats` keeps every minute of the last two weeks in one ring
(its beats' mean latency and dynos serving), and looks for what repeats as
*lags* into it: the calendar's (a day, a week), and any period of a few
minutes to an hour (an hourly job, a job every 10 minutes, a wave that
comes and goes).

A beat is one request: the load it points to is a very noisy reading. So
what repeats must stand out of that noise, measured as it goes (the spread
of one minute's reading against the next, robustly).

- **A rise on the calendar** (:meth:`Repeats.rise`): how much the load went
  up, in each of the last two days (or weeks), from the phase of now to a
  coming phase (a minute either side, for jitter), the least of those over
  the cycles, and only where each is well above the noise. Only what came
  back every time is foreseen, so one flash crowd is never repeated; a
  trend is no rise; and a pattern that breaks is forgotten after one cycle
  without it, leaving the reactive rules alone in charge.
- **A period** (:meth:`Repeats.period`): the last six hours, less the
  load's level (its mean over the hour around each minute, so a slow rise
  is no period), folded at each lag of 3 to 60 minutes. A lag is a period
  when the folded profile varies far more between phases than within them
  from cycle to cycle (an F test at 3.5 sigma, as dozens of lags are tried),
  by at least a dyno's worth of load, in at least three cycles, and the last
  cycle shows it too. Multiples of a period fold as well: the shortest lag
  that passes is the period. Every lag is tried each hour, the one
  found is checked every 15 minutes and dropped when it fails. A
  :class:`Period` foresees the rises in its profile and says the most load
  a coming span will carry, so the policy gives dynos back as soon as that
  span is quiet instead of holding them through its down window.

Time is the policy's ``now`` (seconds on a steady clock); only differences
matter. ``prime`` in the policy fills the ring from the bot's recorded
history at start.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

from autoscalebot.backends.policies.queueing import chi2_quantile

MINUTE = 60.0
HOUR_MIN = 60
DAY_MIN = 1440
WEEK_MIN = 7 * DAY_MIN
# Calendar lags (minutes, cycles that must agree): a daily or weekly peak twice.
CALENDAR: tuple[tuple[int, int], ...] = ((DAY_MIN, 2), (WEEK_MIN, 2))
SHORT_LAGS = range(3, HOUR_MIN + 1)  # minutes: candidate periods, the hour's included
FOLD_MINUTES = 360  # a period is folded over the last six hours (at least 3 cycles)
FOLD_CYCLES = 3
SEARCH_EVERY = 60  # minutes between searches over every lag
CHECK_EVERY = 15  # minutes between checks of the lag found
PERIOD_Z = 3.5  # sigmas: dozens of lags are tried, one must stand out
LEVEL_MINUTES = 61  # the load's level, taken off before folding: its mean over the hour around
RISE_Z = 1.0  # sigmas of noise each calendar cycle's rise must clear
NOISE_MINUTES = 120  # the noise is measured over the last two hours
NOISE_EVERY = 10  # minutes: and again every ten
NOISE_FLOOR = 0.01  # of a dyno's worth of load: the least noise a reading is taken to have
COVER = 0.9  # share of a window's minutes that must have been seen
JITTER = 1  # minutes
SPAN = 2 * WEEK_MIN + 2 * HOUR_MIN  # minutes kept


@dataclass(frozen=True)
class Period:
    """Load that repeats every ``lag`` minutes: its mean per minute of the cycle."""

    lag: int
    profile: tuple[float, ...]  # by minute mod lag
    margin: float  # the profile's own noise, one sigma
    offset: float  # how far the last cycle ran above the folded ones

    def level(self, m: int) -> float:
        return self.profile[m % self.lag]

    def most(self, m0: int, m_end: int) -> float:
        """The most load the minutes ``m0 .. m_end`` carry in the profile, a minute either side,
        with its noise and the last cycle's lift on top: what to keep dynos for."""
        top = max(self.level(m) for m in range(m0 - JITTER, m_end + JITTER + 1))
        return top + self.margin + max(0.0, self.offset)


class Repeats:
    """Every minute of the last two weeks as the beats read it, and the lags at which its load repeats.

    A minute holds the mean latency of its beats, as a multiple of the
    service time, and the mean dynos serving them; ``load_of(ratio, dynos)``
    (the policy's queueing model) turns such a pair into requests per
    second. Folding keeps latencies apart by dyno count and turns each
    mean into load only then: one beat's latency, turned into load alone,
    reads a busy minute low (most draws are under the mean).
    """

    def __init__(self, load_of: Callable[[float, int], float]) -> None:
        self.load_of = load_of
        self._ratio = array("d", bytes(8 * SPAN))  # sum of latency / service time
        self._dynos = array("d", bytes(8 * SPAN))  # sum of dynos serving
        self._n = array("H", bytes(2 * SPAN))
        self._load = array("d", bytes(8 * SPAN))  # each minute's load, once read
        self._read = bytearray(SPAN)  # 1 where ``_load`` holds the minute's cells as they are
        self._head: int | None = None  # the newest minute written
        self._rise_key: tuple[int, int] | None = None
        self._rise: tuple[float, int | None] = (0.0, None)
        self._period: Period | None = None
        self._noise_key: int | None = None
        self._noise = 0.0
        self._lag: int | None = None  # the period last found
        self._searched: int | None = None  # the minute every lag was last tried
        self._checked = 0  # the minute the lag found was last checked
        self._swing = 0.0

    # ---- the ring ----

    def add(self, now: float, ratio: float, dynos: int) -> None:
        """A beat at ``now``: its latency as a multiple of the service time, the dynos serving.
        A reading that is no number, negative, or from no dyno is no data (a recorded
        history is a file on disk: it may hold anything)."""
        if not (math.isfinite(now) and math.isfinite(ratio) and ratio >= 0.0 and dynos >= 1):
            return
        m = int(now // MINUTE)
        head = self._head
        if head is None or m > head:
            start = m - SPAN + 1 if head is None or m - head >= SPAN else head + 1
            for old in range(start, m + 1):  # minutes not seen are no data, not zero
                i = old % SPAN
                self._ratio[i] = self._dynos[i] = 0.0
                self._n[i] = self._read[i] = 0
            self._head = m
        elif m <= head - SPAN:
            return  # older than the ring
        i = m % SPAN
        if self._n[i] < 65535:
            self._ratio[i] += ratio
            self._dynos[i] += dynos
            self._n[i] += 1
            self._read[i] = 0

    def _index(self, m: int) -> int | None:
        """Where minute ``m`` is in the ring; None when it was not seen (or is out of it)."""
        head = self._head
        if head is None or m > head or m <= head - SPAN:
            return None
        i = m % SPAN
        return i if self._n[i] else None

    def value(self, m: int) -> float | None:
        """The load in minute ``m`` (requests per second); None when that minute was not seen."""
        i = self._index(m)
        if i is None:
            return None
        if not self._read[i]:
            n = self._n[i]
            self._load[i] = self.load_of(self._ratio[i] / n, max(1, round(self._dynos[i] / n)))
            self._read[i] = 1
        return self._load[i]

    def _pool(self, minutes: Iterable[int]) -> float | None:
        """The load of several minutes' beats taken together: latencies averaged per
        dyno count, then read; None when none of them was seen."""
        groups: dict[int, list[float]] = {}
        beats = 0
        for m in minutes:
            i = self._index(m)
            if i is None:
                continue
            n = self._n[i]
            g = groups.setdefault(max(1, round(self._dynos[i] / n)), [0.0, 0.0])
            g[0] += self._ratio[i]
            g[1] += n
            beats += n
        if not beats:
            return None
        return sum(self.load_of(t / c, d) * c for d, (t, c) in groups.items()) / beats

    def noise(self, now: float) -> float:
        """One minute's reading: its noise (sigma), from the median step between minutes
        over the last two hours (a step up or down in the load hardly moves a median)."""
        m0 = int(now // MINUTE) - 1
        if self._noise_key is not None and 0 <= m0 - self._noise_key < NOISE_EVERY:
            return self._noise  # it moves slowly: measured again every few minutes
        steps = []
        prev = self.value(m0 - NOISE_MINUTES)
        for m in range(m0 - NOISE_MINUTES + 1, m0 + 1):
            x = self.value(m)
            if x is not None and prev is not None:
                steps.append(abs(x - prev))
            prev = x
        steps.sort()
        # median |x - y| of two normal readings is 0.6745 * sqrt(2) sigma
        sigma = steps[len(steps) // 2] / (0.6745 * math.sqrt(2.0)) if steps else 0.0
        self._noise_key, self._noise = m0, sigma
        return sigma

    # ---- what repeats ----

    def period(self, now: float, swing: float) -> Period | None:
        """The lag of 3 to 60 minutes at which the load repeats, if one does (see the module).

        Every lag is tried each SEARCH_EVERY minutes; the one found is checked
        each CHECK_EVERY minutes, and dropped at the first check it fails.
        """
        m0 = int(now // MINUTE) - 1  # the last whole minute
        if swing <= 0.0:
            return None
        if swing != self._swing:  # another dyno's worth: what was found may not hold
            self._swing, self._searched, self._lag, self._period = swing, None, None, None
        if self._searched is None or not 0 <= m0 - self._searched < SEARCH_EVERY:
            lags: Iterable[int] = SHORT_LAGS
            self._searched = self._checked = m0
        elif self._lag is not None and not 0 <= m0 - self._checked < CHECK_EVERY:
            lags = (self._lag,)
            self._checked = m0
        else:
            return self._period  # what was found a few minutes ago still holds
        window = [self.value(m) for m in range(m0 - FOLD_MINUTES + 1, m0 + 1)]
        left = _detrended(window)
        passed = {lag: fit for lag in lags if (fit := _fold(left, lag, swing)) is not None}
        found = None
        if passed:
            best = max(passed, key=lambda lag: passed[lag].stat)
            lag = _shortest(passed, best)
            found = self._levels(window, m0, lag, passed[lag])
        self._lag, self._period = (found.lag if found else None), found
        return found

    def _levels(self, window: list[float | None], m0: int, lag: int, fit: _Fit) -> Period | None:
        """The period at ``lag``: each phase's beats pooled over the folded cycles, then
        read as load, moved to where the last cycle ran; None if a phase was never seen."""
        first = m0 - fit.minutes + 1
        pooled = [self._pool(range(first + (p - first) % lag, m0 + 1, lag)) for p in range(lag)]
        if None in pooled:
            return None
        profile = tuple(x or 0.0 for x in pooled)
        recent = [(m0 - j, x) for j, x in enumerate(reversed(window[-lag:])) if x is not None]
        offset = sum(x - profile[m % lag] for m, x in recent) / max(1, len(recent))
        margin = math.sqrt(fit.within / fit.fewest)
        return Period(lag, profile, margin, offset)

    def rise(self, now: float, end: float) -> tuple[float, int | None]:
        """(the most the load will rise by, from ``now`` to a moment up to ``end``, as the
        calendar foresees it; its lag in minutes). 0 and None when nothing repeats.

        Per lag, in each of its last cycles, the mean load at the coming phase
        (that minute and the next, for jitter) less the mean load at the phase
        of ``now`` (the three minutes up to it); the least of those over the
        cycles, if each clears the noise. (A :meth:`period` says its levels
        itself: :meth:`Period.most`.)
        """
        m0, m_end = int(now // MINUTE), int(end // MINUTE)
        key = (m0, m_end)
        if self._rise_key == key:
            return self._rise  # past cycles do not change: the same minutes, the same answer
        # A difference of a 2-minute and a 3-minute mean: its noise.
        bar = RISE_Z * self.noise(now) * math.sqrt(1.0 / 2.0 + 1.0 / 3.0)
        best, which = 0.0, None
        for lag, cycles in CALENDAR:
            if m_end + 1 + JITTER - lag > m0:
                continue  # the coming minutes one cycle back are not past yet
            ups: list[float] = []
            for c in range(cycles, 0, -1):  # the oldest first: often not there yet
                back = m0 - c * lag
                base = self._pool(range(back - 2, back + 1))
                coming = [
                    self._pool(range(m - c * lag, m - c * lag + JITTER + 1))
                    for m in range(m0 + 1, m_end + 2)
                ]
                seen = [v for v in coming if v is not None]
                if base is None or not seen:
                    break
                ups.append(max(seen) - base)
            if len(ups) < cycles:
                continue
            up = min(ups)
            if up > best and up > bar:
                best, which = up, lag
        self._rise_key, self._rise = key, (best, which)
        return best, which


@dataclass
class _Left:
    """What is left of each minute of a window once the load's level is taken off."""

    rest: list[float]  # 0.0 where not seen
    seen: list[int]  # 1 where seen
    squares: list[float]  # squares[j]: the sum of rest[i] ** 2 for i < j
    count: list[int]  # count[j]: the minutes seen before j


def _detrended(window: list[float | None]) -> _Left:
    """Each minute less the mean of the hour around it (the minutes seen of it): a period
    of up to an hour averages out of that mean, a trend does not, so a slow rise is no period."""
    seen = [0 if x is None else 1 for x in window]
    xs = [x or 0.0 for x in window]
    total = [0.0, *accumulate(xs)]
    count = [0, *accumulate(seen)]
    n, half = len(xs), LEVEL_MINUTES // 2
    rest = []
    for j in range(n):
        lo, hi = max(0, j - half), min(n, j + half + 1)
        c = count[hi] - count[lo]
        rest.append(xs[j] - (total[hi] - total[lo]) / c if seen[j] and c else 0.0)
    return _Left(rest, seen, [0.0, *accumulate(r * r for r in rest)], count)


def _span(left: _Left, lag: int) -> int:
    """The minutes folded at ``lag``: the most whole cycles back from now that were seen
    (COVER of them), at least FOLD_CYCLES; 0 when there are not that many."""
    size = len(left.seen)
    n = (size // lag) * lag
    while n >= FOLD_CYCLES * lag and left.count[size] - left.count[size - n] < COVER * n:
        n -= lag  # the bot has not run that long (or was down): fold fewer cycles
    return n if n >= FOLD_CYCLES * lag else 0


def _fold(left: _Left, lag: int, swing: float) -> _Fit | None:
    """How well the profile folded at ``lag`` fits, if ``lag`` is a period now; None if
    it is not.

    The profile's spread between phases is set against what varies within a
    phase from cycle to cycle (noise, and load that wanders at any pace shorter
    than a cycle); it must span at least ``swing``; and the last cycle must
    show it too (the profile explains it better than no profile does).
    """
    n = _span(left, lag)
    if not n:
        return None
    rest, seen = left.rest[len(left.rest) - n :], left.seen[len(left.seen) - n :]
    sums = [sum(rest[p::lag]) for p in range(lag)]
    size = len(left.seen)
    if left.count[size] - left.count[size - n] == n:
        counts = [n // lag] * lag  # every minute seen
    else:
        counts = [sum(seen[p::lag]) for p in range(lag)]
    if min(counts) < 2:
        return None
    means = [t / c for t, c in zip(sums, counts, strict=True)]
    if max(means) - min(means) < swing:
        return None
    between = sum(t * t / c for t, c in zip(sums, counts, strict=True))
    squares = left.squares[-1] - left.squares[len(left.rest) - n]
    within = (squares - between) / max(1, sum(counts) - lag)
    within = max(within, (NOISE_FLOOR * swing) ** 2)  # load read without noise: still finite
    bar = chi2_quantile(lag - 1, PERIOD_Z)
    stat = between / within
    if stat <= bar:
        return None
    last = range(n - lag, n)
    if sum(seen[j] for j in last) < COVER * lag:
        return None
    flat = sum(rest[j] * rest[j] for j in last)
    fitted = sum((rest[j] - means[j % lag]) ** 2 for j in last if seen[j])
    if fitted >= flat:
        return None
    return _Fit(stat / bar, between / n, within, n, min(counts))


@dataclass(frozen=True)
class _Fit:
    stat: float  # the F statistic over its bar: how far past chance
    explained: float  # the variance the profile explains, per minute folded
    within: float  # the variance left within a phase
    minutes: int  # folded
    fewest: int  # minutes seen in the phase seen least


def _shortest(passed: dict[int, _Fit], best: int) -> int:
    """The period among the lags that passed: ``best`` or, when the profile of one of its
    divisors explains as much (what ``best`` explains beyond it is within chance), that
    divisor, the shortest such. A period's multiples fold as well as it does; an hourly
    job folded at 30 minutes explains half of it, so 60 stays."""
    fit = passed[best]
    for d in sorted(passed):
        if d >= best or best % d:
            continue
        extra = max(0.0, fit.explained - passed[d].explained) * fit.minutes
        if extra / fit.within <= chi2_quantile(best - d, PERIOD_Z):
            return d
    return best

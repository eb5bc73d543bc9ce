"""Decision backend: adaptive, this project's latency-only policy.

It reads the same heartbeat as the streak rule, but asks a different
question: not "were the last N beats slow?" but "how much load is the app
carrying, how sure am I, and how many dynos does that load need?".

- **Load from latency.** Each dyno is taken to be an M/M/k queue (the
  ``APP_*`` settings, see :mod:`autoscalebot.backends.policies.profile`). The
  mean latency of recent beats gives the utilisation of the dynos that were
  serving, and so the load in requests per second, a number that does not
  change when the dyno count does. The dynos needed are the fewest that keep
  that load under the utilisation at which ``TARGET_PERCENTILE`` % of
  requests stay under ``MAX_RESPONSE_TIME_IN_MS``; one scale goes straight
  to that count, several dynos at once if need be.
- **Evidence, not streaks.** One heartbeat is one draw from a roughly
  exponential distribution, so the mean of ``w`` beats has exact chi-square
  confidence bounds. Scale up when the *lower* bound of the load over the
  last 1, 2, 4, 8 or 16 beats needs more dynos: short windows catch a jump
  in a beat or two, long ones a slow climb, and noise rarely gets through.
- **Down, but not back and forth.** Each beat, the last 8 beats say how few
  dynos would do; scale down only to the most that this asked for during the
  last ``ADAPTIVE_DOWN_WINDOW_SECONDS`` (default 420), so load that comes
  back within minutes finds its dynos still there, and never by more than
  half the dynos at once (at low utilisation latency says little about load).
- **Down needs evidence too.** The fewer dynos must not be swamped by the
  *upper* confidence bound of the load over the beats on the current count
  (the last hour of them at most), at the target's own confidence (85 % at
  p85) and at most the 95 % the way up asks for. A few quiet beats on two
  dynos are not proof that one can take the load of two. Only being swamped
  is ruled out, not missing the target: at low utilisation latency hardly
  moves with load, and a bound that had to meet the target would hold idle
  dynos for ever at tight targets (measured: p99.9 ran up to MAX_DYNOS).
- **Boot delay.** Dynos asked for serve only ``APP_BOOT_SECONDS`` (default
  45) later. Each beat is read against the dynos that were serving when it
  was taken, so the bot neither adds dynos again while the first ones boot
  nor mistakes the old count's latency for the new one's.

- **What repeats.** Each beat's latency and serving dynos are kept per
  minute for two weeks (:mod:`.pattern`). Where each of the last two days
  (or weeks) rose at a coming minute by more than the noise, or the load
  repeats with a period of 3 to 60 minutes (an hourly job, a wave), the
  dynos are asked for one boot ahead. While a period holds, dynos go back
  as soon as its last cycles say the next boot and two beats need fewer,
  not after the down window. A pattern that breaks is dropped, and the
  reactive rules above carry on alone. At start, ``prime`` fills the minutes
  from the bot's recorded history, so a restart forgets nothing.
- **The app, measured.** With the ``requests`` measurement backend (the
  app's middleware), the mean service time it reports replaces
  ``APP_SERVICE_TIME_IN_MS`` once 200 requests have been seen; and the
  workers per dyno (``APP_CONCURRENCY``) become the count, 1 to 8, whose
  M/M/k latency for the measured load is closest to the latency seen.
- **Saturation.** Past saturation every beat times out and latency says
  only "more than the dynos can take", so the estimate tops out near 100 %
  busy. Two timeouts in a row, where the target load would time out at most
  1 % of beats, double the serving count, at most once per boot
  (a doubled load is then served within a boot and two beats).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Iterable
from statistics import NormalDist
from typing import Any

from autoscalebot.backends.base import Bounds, Measurement, RequestFigures, Verdict
from autoscalebot.backends.policies.pattern import MINUTE, WEEK_MIN, Period, Repeats
from autoscalebot.backends.policies.profile import LatencyPolicy, no_change
from autoscalebot.backends.policies.queueing import (
    chi2_quantile,
    mean_ratio,
    over_share,
    utilisation_for_share,
    utilisation_from_mean,
)
from autoscalebot.backends.policy import classify
from autoscalebot.config.settings import Settings
from autoscalebot.engine.wording import plural

UP_WINDOWS = (1, 2, 4, 8, 16)  # beats
DOWN_BEATS = 8  # one of UP_WINDOWS: its running sum serves both
Z_UP = 1.64  # one-sided 95 % lower bound on the load before adding dynos (and most for the upper)
EVIDENCE_SECONDS = 3600.0  # the upper bound reads the beats on the current count over up to an hour
# At low utilisation latency hardly moves with load, so a few beats can suggest
# far fewer dynos than needed; never drop more than half at once.
MAX_DOWN_SHARE = 0.5
SATURATION_GROWTH = 2.0  # a doubled load is served within a boot and two beats
MAX_UTILISATION = 0.995  # where the latency-to-utilisation table ends


# Service time from the middleware's figures: trusted after this many requests,
# faded by half past LEARN_MEMORY, and taken up when it moves by more than 5 %.
LEARN_MIN = 200
LEARN_MEMORY = 20_000
LEARN_CHANGE = 0.05
# Workers per dyno, fitted from the figures: 1 to 8 candidates, once 64 windows with
# the dynos at least 30 % busy (a worker's worth of load) have been compared.
MAX_FIT_CONCURRENCY = 8
FIT_MIN_BUSY = 0.3
FIT_MIN_BEATS = 64
FIT_FADE = 0.995
MIN_RISE = 0.5  # a foreseen rise under half a dyno's worth of load is noise


def _repeat_words(lag: int | None) -> str:
    """Where a foreseen rise was seen, for the log: the calendar's lag in words."""
    return "each of the last 2 weeks" if lag == WEEK_MIN else "each of the last 2 days"


# (w, factor): the mean of w exponential beats, times factor, is a lower bound on the true mean.
_LOWER = tuple((w, 2.0 * w / chi2_quantile(2 * w, Z_UP)) for w in UP_WINDOWS)


class AdaptivePolicy(LatencyPolicy):
    """Load estimated from latency with confidence bounds; boot-aware; fast up, held down."""

    def __init__(self, settings: Settings, **_: Any) -> None:
        self.beats: deque[tuple[float, int]] = deque(maxlen=UP_WINDOWS[-1])  # (ms, dynos serving)
        self.count: int | None = None  # the count at the last beat
        self.serving = 0  # dynos believed to serve now
        self.booting: deque[tuple[float, int]] = deque()  # (serving from, count)
        # Sliding maximum of the counts the beats allowed, over the down window:
        # (when, allowed), the allowed values falling from left to right.
        self.downs: deque[tuple[float, int]] = deque()
        self.downs_since: float | None = None  # when the down window last started
        # (when, ms): the beats on the current count, over the down window or the hour
        self.window: deque[tuple[float, float]] = deque()
        self.same = 0  # how many of the latest beats saw the same serving count
        self._thresholds: dict[tuple[int, int], float] = {}
        self.sums = dict.fromkeys(UP_WINDOWS, 0.0)  # running sum of the last w beats' ms
        self._added = 0
        self.last_now = 0.0
        self.last_grow = -math.inf
        self.hot = 0  # beats in a row that timed out, whatever the count
        self.repeats = Repeats(self._load_of)
        # Service time measured by the app's middleware (Measurement.requests), when it is there.
        self.learnt_service_ms: float | None = None
        self._service_sum = 0.0
        self._service_n = 0.0
        # Workers per dyno, fitted: per candidate, how far the latency it predicts for
        # the measured load has been from the latency seen (squared log error, fading).
        self.learnt_concurrency: int | None = None
        self._fit = [0.0] * (MAX_FIT_CONCURRENCY + 1)
        self._fitted = 0
        self._rates: deque[float] = deque(maxlen=UP_WINDOWS[-1])
        super().__init__(settings)

    def configure(self, settings: Settings) -> None:
        super().configure(settings)
        self.boot = settings.app_boot_seconds
        self.down_window = settings.adaptive_down_window_seconds
        if self.learnt_service_ms is not None:  # measured beats the setting
            self.app = dataclasses.replace(self.app, service_ms=self.learnt_service_ms)
        if self.learnt_concurrency is not None:
            self.app = dataclasses.replace(self.app, concurrency=self.learnt_concurrency)
        self._derive()

    def _derive(self) -> None:
        """The values that follow from the app profile (after a setting changed, or was learnt)."""
        app = self.app
        self._thresholds = {}
        # An app too slow to meet the target even idle gets the lowest sane target.
        self.rho_target = max(
            0.05,
            utilisation_for_share(app.concurrency, app.target_ms / app.service_ms, app.slow_share),
        )
        self.per_dyno = app.concurrency * 1000.0 / app.service_ms  # rps one dyno serves at 100 %
        # Saturated: two timeouts in a row, when the target load times out at most
        # 1 % of beats. At hotter targets timeouts are routine and prove nothing.
        p = over_share(app.concurrency, self.rho_target, app.timeout_ms / app.service_ms)
        self.hot_needed = 2 if p <= 0.01 else 1_000_000
        # Down, the upper bound at the target's own confidence, at most the way up's.
        self.z_down = min(Z_UP, max(0.0, NormalDist().inv_cdf(1.0 - app.slow_share)))

    # ---- which dynos serve ----

    def _track(self, current: int, now: float) -> None:
        if self.count is None:
            self.count = self.serving = current
            return
        if current > self.count:
            # Asked for during the last beat's tick; serving one boot later.
            self.booting.append((self.last_now + self.boot, current))
        elif current < self.count:
            self.booting = deque((t, n) for t, n in self.booting if n < current)
            self.serving = min(self.serving, current)
        self.count = current
        while self.booting and self.booting[0][0] <= now:
            self.serving = max(self.serving, self.booting.popleft()[1])

    # ---- load and need ----

    def _load(self, beats: list[tuple[float, int]]) -> float:
        """Requests per second the beats point to: per serving count, weighted by beats."""
        k, service = self.app.concurrency, self.app.service_ms
        groups: dict[int, list[float]] = {}
        for ms, n in beats:
            g = groups.setdefault(n, [0.0, 0.0])
            g[0] += ms
            g[1] += 1.0
        load = 0.0
        for n, (total, count) in groups.items():
            load += utilisation_from_mean(k, total / count / service) * n * self.per_dyno * count
        return load / len(beats)

    def _load_of(self, ratio: float, dynos: int) -> float:
        """Requests per second that a mean latency of ``ratio`` service times on ``dynos`` points to."""
        return utilisation_from_mean(self.app.concurrency, ratio) * dynos * self.per_dyno

    def _need(self, load: float) -> int:
        return max(1, math.ceil(load / (self.per_dyno * self.rho_target) - 1e-9))

    def _learn(self, figures: RequestFigures) -> None:
        """Take the middleware's mean service time in place of APP_SERVICE_TIME_IN_MS."""
        if not figures.service_mean_ms or figures.requests <= 0:
            return
        self._service_sum += figures.service_mean_ms * figures.requests
        self._service_n += figures.requests
        if self._service_n > LEARN_MEMORY:  # old requests fade: the app changes with deploys
            self._service_sum *= 0.5
            self._service_n *= 0.5
        if self._service_n < LEARN_MIN:
            return
        service = self._service_sum / self._service_n
        if abs(service / self.app.service_ms - 1.0) > LEARN_CHANGE:
            self.learnt_service_ms = service
            self.app = dataclasses.replace(self.app, service_ms=service)
            self._derive()
        if figures.seconds > 0:
            self._rates.append(figures.rate)
        self._fit_concurrency()

    def _fit_concurrency(self) -> None:
        """Which workers-per-dyno makes the measured load explain the latency seen."""
        w = UP_WINDOWS[-1]
        if len(self._rates) < w or len(self.beats) < w or self._service_n < LEARN_MIN:
            return
        service = self.app.service_ms
        busy = sum(self._rates) / len(self._rates) * service / 1000.0  # workers busy per dyno
        observed = self.sums[w] / w
        if busy < FIT_MIN_BUSY or observed >= self.app.timeout_ms:
            return  # idle dynos look alike whatever their workers; saturated ones too
        fit = self._fit
        for k in range(1, MAX_FIT_CONCURRENCY + 1):
            rho = min(MAX_UTILISATION, busy / k)
            predicted = service * mean_ratio(k, rho)
            fit[k] = FIT_FADE * fit[k] + math.log(observed / predicted) ** 2
        self._fitted += 1
        if self._fitted < FIT_MIN_BEATS:
            return
        best = min(range(1, MAX_FIT_CONCURRENCY + 1), key=lambda k: fit[k])
        if best != self.app.concurrency:
            self.learnt_concurrency = best
            self.app = dataclasses.replace(self.app, concurrency=best)
            self._derive()

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        outcome = classify(m, self.s)
        if m.requests is not None:
            self._learn(m.requests)
        self._track(current, now)
        if m.serving is not None:
            # The platform says which dynos are up: no guessing from the boot time.
            self.serving = min(m.serving, current)
            self.booting = deque((t, n) for t, n in self.booting if n > self.serving)
        self.last_now = now
        if current == 0 or self.serving == 0:
            # No dyno serves: a beat says nothing about the load (and would divide by
            # zero), only whether the app needs one. While the first ones boot, wait.
            self.hot = 0
            self.downs_since = None
            if current == 0 and outcome == "fail":
                return Verdict(outcome, 1, "no dyno serves and the beat failed")
            return no_change(outcome)
        serving = self.serving
        self._add(self.app.latency(m), serving)
        beats = list(self.beats)
        self.repeats.add(now, self.beats[-1][0] / self.app.service_ms, serving)
        swing = self.per_dyno * self.rho_target  # one dyno's worth of load
        ahead = now + self.boot + self.s.heartbeat_interval_in_seconds
        foreseen, why = 0, ""
        rise, lag = self.repeats.rise(now, ahead)
        if rise >= MIN_RISE * swing:
            foreseen = self._need(self._load(beats[-DOWN_BEATS:]) + rise)
            why = f"in {_repeat_words(lag)} the load rose by ~{rise:.0f} rps at this time"
        found = self.repeats.period(now, swing)
        if found is not None:
            level = self._need(found.most(int(now // MINUTE), int(ahead // MINUTE)))
            if level > foreseen:
                foreseen = level
                why = f"the load repeats every {found.lag} min and its last cycles needed that"
        self.hot = self.hot + 1 if self.beats[-1][0] >= self.app.timeout_ms else 0
        wanted, reason = self._up(serving, current)
        if self.hot >= self.hot_needed and now - self.last_grow >= self.boot:
            # Past saturation latency says "more", not how much: double, once per boot.
            grown = math.ceil(serving * SATURATION_GROWTH)
            if grown > max(current, wanted or 0):
                wanted, reason = grown, f"{self.hot} beats in a row timed out on {serving} dynos"
                self.last_grow = now
        if foreseen > max(current, wanted or 0):
            wanted = foreseen
            reason = f"{plural(foreseen, 'dyno')} foreseen within a boot: {why}"
        if wanted is None:
            early = self._down_with_period(found, serving, current, now, foreseen)
            if early is not None:
                return Verdict(outcome=outcome, wanted=early[0], reason=early[1])
            wanted, reason = self._down(serving, current, now)
            if wanted is None:
                return no_change(outcome)
            if wanted < foreseen:  # keep what the pattern needs within a boot
                if foreseen >= current:
                    return no_change(outcome)
                wanted = foreseen
        else:
            self.downs_since = None  # a new count: the down window starts again
        return Verdict(outcome=outcome, wanted=wanted, reason=reason)

    def prime(self, beats: Iterable[tuple[float, float | None, int]]) -> None:
        """Learn what repeats from recorded beats, oldest first, as the bot's history gives
        them at start: (seconds on this policy's ``now`` clock, latency in ms or None for a
        failed beat, dynos serving). Beats with no dyno serving say nothing of the load."""
        service, timeout = self.app.service_ms, self.app.timeout_ms
        for t, ms, dynos in beats:
            if dynos:
                self.repeats.add(t, (timeout if ms is None else ms) / service, dynos)

    def _add(self, ms: float, serving: int) -> None:
        beats = self.beats
        self.same = self.same + 1 if beats and beats[-1][1] == serving else 1
        sums = self.sums
        n = len(beats)
        for w in UP_WINDOWS:
            if n >= w:
                sums[w] += ms - beats[n - w][0]
            else:
                sums[w] += ms
        beats.append((ms, serving))
        self._added += 1
        if self._added % 512 == 0:  # wash out rounding from the running sums
            values = [b[0] for b in beats]
            for w in UP_WINDOWS:
                sums[w] = sum(values[-w:])

    def _up(self, serving: int, current: int) -> tuple[int | None, str]:
        # A window asks for more dynos when its lower-bound mean is over the mean
        # latency that `current` dynos would show at the target utilisation.
        threshold = self._thresholds.get((current, serving))
        if threshold is None:
            rho = current * self.rho_target / serving
            k, service = self.app.concurrency, self.app.service_ms
            threshold = service * mean_ratio(k, rho) if rho < MAX_UTILISATION else math.inf
            self._thresholds[(current, serving)] = threshold
        beats = self.beats
        n = len(beats)
        sums = self.sums
        best: int | None = None
        why = ""
        for w, lower in _LOWER:
            if w > n:
                break
            mean = sums[w] / w
            if mean * lower <= threshold:
                continue
            recent = list(beats)[n - w :]
            load = self._load(recent)
            need = self._need(load)
            if need > current and (best is None or need > best):
                best = need
                why = f"the last {w} beats average {mean:.0f} ms: ~{load:.0f} rps on {serving} serving dynos"
        return best, why

    def _down_with_period(
        self, found: Period | None, serving: int, current: int, now: float, foreseen: int
    ) -> tuple[int, str] | None:
        """While the load repeats every few minutes, give dynos back as soon as its last
        cycles say the next boot and two beats need fewer, not after the down window."""
        if found is None or serving != current or self.same < 2:
            return None
        ahead = self.boot + 2 * self.s.heartbeat_interval_in_seconds
        most = found.most(int(now // MINUTE), int((now + ahead) // MINUTE))
        recent = self._load(list(self.beats)[-2:])
        keep = max(
            self._need(max(most, recent)),
            math.ceil(current * (1.0 - MAX_DOWN_SHARE)),
            foreseen,
        )
        if keep >= current:
            return None
        self.downs_since = None
        return keep, (
            f"the load repeats every {found.lag} min: its last cycles needed at most {plural(keep, 'dyno')} "
            f"in the next {ahead:g} s"
        )

    def _unswamped(self, serving: int, current: int) -> int:
        """The fewest dynos the upper confidence bound of the load over the beats on the
        current count would not swamp (at most ``current``): the mean of n exponential
        beats times 2n over the chi-square quantile below it, read as utilisation."""
        n = len(self.window)
        if n < DOWN_BEATS:
            return current
        mean = sum(ms for _, ms in self.window) / n
        upper = mean * 2 * n / chi2_quantile(2 * n, -self.z_down)
        rho = utilisation_from_mean(self.app.concurrency, upper / self.app.service_ms)
        return min(current, max(1, math.ceil(rho * serving - 1e-9)))

    def _down(self, serving: int, current: int, now: float) -> tuple[int | None, str]:
        if serving != current or self.same < DOWN_BEATS:
            allowed = current  # dynos still booting, or too few beats on this count: hold
        else:
            mean = self.sums[DOWN_BEATS] / DOWN_BEATS
            rho = utilisation_from_mean(self.app.concurrency, mean / self.app.service_ms)
            allowed = min(
                current,
                max(
                    self._need(rho * serving * self.per_dyno),
                    math.ceil(current * (1.0 - MAX_DOWN_SHARE)),
                ),
            )
        downs, window = self.downs, self.window
        if self.downs_since is None:
            self.downs_since = now
            downs.clear()
            window.clear()
        if serving == current:
            window.append((now, self.beats[-1][0]))
        while window and window[0][0] <= now - max(self.down_window, EVIDENCE_SECONDS):
            window.popleft()
        while downs and downs[-1][1] <= allowed:
            downs.pop()
        downs.append((now, allowed))
        while downs[0][0] <= now - self.down_window:
            downs.popleft()
        if now - self.downs_since < self.down_window - self.s.heartbeat_interval_in_seconds - 1e-9:
            return None, ""  # the window has not filled since the last change
        target = downs[0][1]
        if target < current:
            target = max(target, self._unswamped(serving, current))
        if target < current:
            self.downs_since = None
            return (
                target,
                f"for {self.down_window:g} s the beats never needed more than {plural(target, 'dyno')}",
            )
        return None, ""

"""The simulated app: dynos as M/M/k queues behind Heroku's random router.

Each dyno runs ``concurrency`` workers (Heroku's ``WEB_CONCURRENCY``, 2 on a
standard-1X dyno), each serving requests with exponential service times of
mean ``service_ms``. Heroku's router picks a dyno at random for each request,
so with ``n`` serving dynos each one sees a Poisson stream of ``rps / n``: an
M/M/k queue, whose response time has a closed form (Erlang C for the chance
to wait, then an exponential wait, then the service).

Near and past saturation:

- up to 99.5 % utilisation the stationary formulas hold as they are (no cap
  at 98 %: at 99 % a request waits seconds, and the model says so);
- past capacity each dyno keeps a fluid backlog, the queueing delay every
  request routed to it pays. It grows at ``rho - 1`` seconds per second
  and is *not* capped at the router's 30 s timeout: Heroku does not cancel
  a request it timed out (H12), so the dyno still serves it, and the work
  piles up behind it. A request that would wait longer than the timeout is
  slow and timed out. Only the dyno's listen queue bounds the backlog
  (``listen_backlog`` requests, gunicorn's default 2048); arrivals beyond
  it are refused, and count as timed out;
- a backlog stays on the dyno it queued on: when dynos are added, the new
  ones start empty and take their share of *new* requests only (the random
  router cannot move queued work), so the old ones drain at their own pace.

A new dyno is billed from the moment it is asked for and serves only after
``boot_seconds``; a removed dyno (newest first) stops at once (its queue is
taken as served: Heroku gives it 30 s to finish).

:class:`World` is the state the simulator advances; the functions above it
are the formulas, which the demo, the oracle and the probe share.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from autoscalebot.backends.policies.queueing import erlang_c, response_tail

# The stationary formulas are used up to this utilisation (the mean wait there is
# already 1 / (k mu 0.005) s); at or past capacity the fluid backlog takes over.
RHO_MAX = 0.995
# Kept for the needed-dynos search start (a first guess, never a cap on the model).
RHO_CAP = 0.98
# Midpoint pieces for a segment's changing backlog (the tails bend with the delay).
BACKLOG_PIECES = 16


@dataclass(frozen=True)
class AppModel:
    """How the simulated app behaves. Defaults: a typical small Heroku web app."""

    service_ms: float = 100.0
    """Mean time a worker spends on one request (exponential)."""
    concurrency: int = 2
    """Workers per dyno (``WEB_CONCURRENCY``; 2 on a standard-1X dyno)."""
    boot_seconds: float = 45.0
    """From the scale call until a new dyno takes requests (billed meanwhile)."""
    router_timeout_s: float = 30.0
    """Heroku's router gives up on a request after this long (H12); the dyno does not."""
    listen_backlog: int = 2048
    """Requests one dyno's server holds queued (gunicorn's ``backlog``); more are refused."""

    @property
    def mu(self) -> float:
        """Requests per second one worker serves."""
        return 1000.0 / self.service_ms

    def capacity_rps(self, dynos: int) -> float:
        """Requests per second ``dynos`` serving dynos can sustain at all."""
        return dynos * self.concurrency * self.mu

    @property
    def backlog_cap_s(self) -> float:
        """The longest queueing delay a full listen queue means, in seconds."""
        return self.listen_backlog / self.capacity_rps(1)


def _queue_terms(model: AppModel, rps: float, serving: int) -> tuple[float, float, float]:
    """(chance to wait, wait rate theta, service rate mu) for one dyno, at most RHO_MAX busy."""
    mu = model.mu
    k = model.concurrency
    offered = rps / serving / mu
    if offered > RHO_MAX * k:
        offered = RHO_MAX * k
    c = erlang_c(k, offered)
    return c, k * mu - offered * mu, mu


def slow_share(
    model: AppModel, rps: float, serving: int, target_ms: float, delay_s: float = 0.0
) -> float:
    """Share of requests slower than ``target_ms``, with ``delay_s`` of backlog ahead."""
    if serving <= 0:
        return 1.0
    if rps <= 0.0:
        return response_tail(target_ms / 1000.0 - delay_s, 0.0, 1.0, model.mu)
    c, theta, mu = _queue_terms(model, rps, serving)
    return response_tail(target_ms / 1000.0 - delay_s, c, theta, mu)


def mean_latency_ms(model: AppModel, rps: float, serving: int) -> float:
    """Mean response time (stationary, utilisation at most RHO_MAX)."""
    if serving <= 0:
        return model.router_timeout_s * 1000.0
    if rps <= 0.0:
        return model.service_ms
    c, theta, mu = _queue_terms(model, rps, serving)
    return 1000.0 * (1.0 / mu + c / theta)


def sample_latency_ms(
    model: AppModel, rps: float, serving: int, rng: random.Random, delay_s: float = 0.0
) -> float:
    """One request's response time, drawn from the model (what one heartbeat sees)."""
    if serving <= 0:
        return model.router_timeout_s * 1000.0
    seconds = delay_s + rng.expovariate(model.mu)
    if rps > 0.0:
        c, theta, _ = _queue_terms(model, rps, serving)
        if rng.random() < c:
            seconds += rng.expovariate(theta)
    return min(seconds, model.router_timeout_s) * 1000.0


def needed_dynos(
    model: AppModel, rps: float, target_ms: float, share: float, *, cap: int = 10_000
) -> int:
    """Fewest serving dynos keeping the share of requests over ``target_ms`` at or below ``share``."""
    if rps <= 0.0:
        return 1
    n = max(1, math.ceil(rps / model.capacity_rps(1) / RHO_CAP))
    while n < cap and slow_share(model, rps, n, target_ms) > share:
        n += 1
    return n


class World:
    """The app's state over simulated time: dynos, boots, backlogs and the bill.

    Time is seconds since the trace began. ``advance(t)`` moves the state to
    ``t``, adding up requests, slow requests, timeouts and dyno-seconds; the
    probe and the scaler call it before they look, so the state is always
    current when the engine asks.
    """

    def __init__(
        self,
        model: AppModel,
        rps_at: list[float],
        step_s: float,
        *,
        target_ms: float,
        dynos: int,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.rps = rps_at
        self.step_s = step_s
        self.target_ms = target_ms
        self.rng = random.Random(seed)
        self.t = 0.0
        # Per dyno, by creation (so by readiness: every boot takes as long): when it
        # serves, and the queueing delay of its own backlog. Serving dynos are a prefix.
        self.ready: list[float] = [0.0] * dynos
        self.delays: list[float] = [0.0] * dynos
        self.backlogged = False  # any serving dyno has a backlog
        self.serving = dynos
        self._next_ready = math.inf
        # Totals.
        self.requests = 0.0
        self.slow = 0.0
        self.timeouts = 0.0
        self.refused = 0.0
        self.dyno_seconds = 0.0
        self.scales: list[tuple[float, int, int]] = []  # (t, before, after)
        self._mu = model.mu
        self._per_dyno = model.capacity_rps(1)
        self._cap = model.backlog_cap_s
        self._cache: dict[int, tuple[float, float, float, float]] = {}

    # ---- what the engine's backends see ----

    @property
    def count(self) -> int:
        """Dynos the platform reports (and bills), booting ones included."""
        return len(self.ready)

    @property
    def backlog_s(self) -> float:
        """The longest backlog any serving dyno holds, in seconds of queueing delay."""
        return self.delays[0] if self.serving and self.backlogged else 0.0

    @backlog_s.setter
    def backlog_s(self, seconds: float) -> None:
        """Every serving dyno holds ``seconds`` of backlog (for tests and what-ifs)."""
        for i in range(self.serving):
            self.delays[i] = seconds
        self.backlogged = seconds > 0.0 and self.serving > 0

    def rps_now(self, t: float | None = None) -> float:
        i = int((self.t if t is None else t) // self.step_s)
        rps = self.rps
        return rps[i] if i < len(rps) else rps[-1]

    def sample_ms(self) -> float:
        """One request's response time now (what one heartbeat sees), on a dyno picked at random."""
        n = self.serving
        if n <= 0:
            return self.model.router_timeout_s * 1000.0
        random = self.rng.random
        c, theta, _, _ = self._terms(n)
        delay = self.delays[int(random() * n)] if self.backlogged else 0.0
        # Exponential draws by inversion, as random.expovariate does (inlined: hot path).
        seconds = delay - math.log(1.0 - random()) / self._mu
        if c > 0.0 and random() < c:
            seconds -= math.log(1.0 - random()) / theta
        return min(seconds, self.model.router_timeout_s) * 1000.0

    def scale_to(self, n: int) -> None:
        """Ask for ``n`` dynos now: new ones boot (empty), removed ones (newest first) stop."""
        before = len(self.ready)
        if n > before:
            self.ready.extend([self.t + self.model.boot_seconds] * (n - before))
            self.delays.extend([0.0] * (n - before))
            self._next_ready = min(self._next_ready, self.t + self.model.boot_seconds)
        elif n < before:
            del self.ready[n:]
            del self.delays[n:]
            self._recount()
        if n != before:
            self.scales.append((self.t, before, n))

    # ---- time ----

    def advance(self, t: float) -> None:
        """Move to ``t``, splitting at boot completions and trace steps."""
        if t <= self.t:
            return
        step = self.step_s
        while self.t < t:
            end = (self.t // step + 1.0) * step
            if t < end:
                end = t
            if self._next_ready < end:
                end = self._next_ready
            self._segment(end - self.t)
            self.t = end
            if end >= self._next_ready:
                self._recount()

    def _recount(self) -> None:
        now = self.t
        serving = 0
        pending = math.inf
        for r in self.ready:
            if r <= now:
                serving += 1
            elif r < pending:
                pending = r
        # A backlog stays where it queued; new dynos start empty (they are, in `delays`).
        self.serving = serving
        self._next_ready = pending
        self.backlogged = any(d > 0.0 for d in self.delays[:serving])

    def _terms(self, n: int) -> tuple[float, float, float, float]:
        """(chance to wait, theta, slow share, timeout share) at this step's load on ``n`` dynos, no backlog."""
        i = int(self.t // self.step_s)
        key = i * 100_003 + n
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if len(self._cache) > 256:
            self._cache.clear()
        rps = self.rps[i] if i < len(self.rps) else self.rps[-1]
        if rps > 0.0:
            c, theta, mu = _queue_terms(self.model, rps, n)
        else:
            c, theta, mu = 0.0, self._mu, self._mu
        slow = response_tail(self.target_ms / 1000.0, c, theta, mu)
        timeout = self.model.router_timeout_s
        # Beyond e^-40 the router timeout cannot matter; skip the second tail.
        late = 0.0 if min(theta, mu) * timeout > 40.0 else response_tail(timeout, c, theta, mu)
        hit = self._cache[key] = (c, theta, slow, late)
        return hit

    def _segment(self, dt: float) -> None:
        """Account ``dt`` seconds at constant load and dyno count."""
        if dt <= 0.0:
            return
        i = int(self.t // self.step_s)
        rps = self.rps[i] if i < len(self.rps) else self.rps[-1]
        n = self.serving
        self.dyno_seconds += len(self.ready) * dt
        arrivals = rps * dt
        self.requests += arrivals
        if n <= 0:
            self.slow += arrivals
            self.timeouts += arrivals
            return
        rho = rps / (n * self._per_dyno)
        c, theta, slow, late = self._terms(n)
        if rho < 1.0 and not self.backlogged:
            self.slow += arrivals * slow
            self.timeouts += arrivals * late
            return
        # Per run of dynos with the same backlog (they stay equal: same load each).
        delays = self.delays
        slow_sum = late_sum = refused_sum = 0.0
        j = 0
        any_left = False
        while j < n:
            d = delays[j]
            k = j + 1
            while k < n and delays[k] == d:
                k += 1
            s, lt, rf, end = self._run(d, rho, dt, c, theta, slow, late)
            share = (k - j) / n
            slow_sum += s * share
            late_sum += lt * share
            refused_sum += rf * share
            for x in range(j, k):
                delays[x] = end
            any_left = any_left or end > 0.0
            j = k
        self.backlogged = any_left
        self.slow += rps * slow_sum
        self.timeouts += rps * late_sum
        self.refused += rps * refused_sum

    def _run(
        self, delay: float, rho: float, dt: float, c: float, theta: float, slow: float, late: float
    ) -> tuple[float, float, float, float]:
        """One dyno's backlog over ``dt``: time-integrals of the slow, timed-out and refused shares, and the end delay.

        The backlog changes at ``rho - 1`` seconds per second, linearly until it
        clears or fills the listen queue, then stays: integrate piecewise, else a
        backlog that clears after 4 s is charged for the whole segment.
        """
        timeout = self.model.router_timeout_s
        cap = self._cap
        slope = rho - 1.0
        end = min(max(delay + slope * dt, 0.0), cap)
        if slope > 0.0:
            ramp = min(dt, (cap - delay) / slope) if delay < cap else 0.0
        elif slope < 0.0:
            ramp = min(dt, delay / -slope)
        else:
            ramp = 0.0
        rest = dt - ramp
        slow_sum = late_sum = refused = 0.0
        mu = self._mu
        target = self.target_ms / 1000.0
        if ramp > 0.0:
            # Midpoint rule over the ramp; the tails are smooth in the delay.
            pieces = BACKLOG_PIECES
            h = ramp / pieces
            for j in range(pieces):
                d = delay + slope * (j + 0.5) * h
                slow_sum += response_tail(target - d, c, theta, mu) * h
                late_sum += response_tail(timeout - d, c, theta, mu) * h
        if rest > 0.0:
            if end >= cap and slope > 0.0:  # the listen queue is full: the excess is refused
                lost = slope / rho  # the share of arrivals refused
                refused = lost * rest
                kept = 1.0 - lost  # admitted behind a full queue
                slow_sum += (lost + kept * response_tail(target - end, c, theta, mu)) * rest
                late_sum += (lost + kept * response_tail(timeout - end, c, theta, mu)) * rest
            elif end > 0.0:  # rho exactly 1: the backlog holds
                slow_sum += response_tail(target - end, c, theta, mu) * rest
                late_sum += response_tail(timeout - end, c, theta, mu) * rest
            else:  # cleared: the stationary queue
                slow_sum += slow * rest
                late_sum += late * rest
        return slow_sum, late_sum, refused, end

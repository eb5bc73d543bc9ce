"""The simulated app: dynos as M/M/k queues behind Heroku's random router.

Each dyno runs ``concurrency`` workers (Heroku's ``WEB_CONCURRENCY``, 2 on a
standard-1X dyno), each serving requests with exponential service times of
mean ``service_ms``. Heroku's router picks a dyno at random for each request,
so with ``n`` serving dynos each one sees a Poisson stream of ``rps / n``: an
M/M/k queue, whose response time has a closed form (Erlang C for the chance
to wait, then an exponential wait, then the service).

Overload is a fluid backlog on top: when requests arrive faster than the
dynos can serve them, the extra work piles up as a queueing delay every
request pays, up to the router's 30 s timeout (Heroku's H12); what would
wait longer is dropped. A new dyno is billed from the moment it is asked for
and serves only after ``boot_seconds``; a removed dyno stops at once.

:class:`World` is the state the simulator advances; the functions above it
are the formulas, which the demo, the oracle and the probe share.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from autoscalebot.backends.policies.queueing import erlang_c, response_tail

# Above this utilisation the stationary formulas stop being meaningful (the
# queue would take hours to reach them); the fluid backlog takes over.
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
    """Heroku's router gives up on a request after this long (H12)."""

    @property
    def mu(self) -> float:
        """Requests per second one worker serves."""
        return 1000.0 / self.service_ms

    def capacity_rps(self, dynos: int) -> float:
        """Requests per second ``dynos`` serving dynos can sustain at all."""
        return dynos * self.concurrency * self.mu


def _queue_terms(model: AppModel, rps: float, serving: int) -> tuple[float, float, float]:
    """(chance to wait, wait rate theta, service rate mu) for one dyno, utilisation capped."""
    mu = model.mu
    k = model.concurrency
    offered = rps / serving / mu
    if offered > RHO_CAP * k:
        offered = RHO_CAP * k
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
    """Mean response time (stationary, utilisation capped at RHO_CAP)."""
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
    """The app's state over simulated time: dynos, boots, backlog and the bill.

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
        self.ready: list[float] = [0.0] * dynos  # per dyno: when it serves (sorted by creation)
        self.serving = dynos
        self._next_ready = math.inf
        self.backlog_s = 0.0  # queueing delay every request pays, from overload
        # Totals.
        self.requests = 0.0
        self.slow = 0.0
        self.timeouts = 0.0
        self.dyno_seconds = 0.0
        self.scales: list[tuple[float, int, int]] = []  # (t, before, after)
        self._mu = model.mu
        self._per_dyno = model.capacity_rps(1)
        self._cache: dict[int, tuple[float, float, float, float]] = {}

    # ---- what the engine's backends see ----

    @property
    def count(self) -> int:
        """Dynos the platform reports (and bills), booting ones included."""
        return len(self.ready)

    def rps_now(self, t: float | None = None) -> float:
        i = int((self.t if t is None else t) // self.step_s)
        rps = self.rps
        return rps[i] if i < len(rps) else rps[-1]

    def sample_ms(self) -> float:
        """One request's response time now (what one heartbeat sees)."""
        n = self.serving
        if n <= 0:
            return self.model.router_timeout_s * 1000.0
        random = self.rng.random
        c, theta, _, _ = self._terms(n)
        # Exponential draws by inversion, as random.expovariate does (inlined: hot path).
        seconds = self.backlog_s - math.log(1.0 - random()) / self._mu
        if c > 0.0 and random() < c:
            seconds -= math.log(1.0 - random()) / theta
        return min(seconds, self.model.router_timeout_s) * 1000.0

    def scale_to(self, n: int) -> None:
        """Ask for ``n`` dynos now: new ones boot, removed ones (newest first) stop."""
        before = len(self.ready)
        if n > before:
            self.ready.extend([self.t + self.model.boot_seconds] * (n - before))
            self._next_ready = min(self._next_ready, self.t + self.model.boot_seconds)
        elif n < before:
            del self.ready[n:]
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
        if serving != self.serving and serving > 0 and self.serving > 0:
            # The queued work spreads over the new capacity.
            self.backlog_s *= self.serving / serving
        self.serving = serving
        self._next_ready = pending

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
        delay = self.backlog_s
        rho = rps / (n * self._per_dyno)
        c, theta, slow, late = self._terms(n)
        if rho < 1.0 and delay <= 0.0:
            self.slow += arrivals * slow
            self.timeouts += arrivals * late
            return
        # Fluid backlog: grows at (rho - 1) seconds per second, drains at (1 - rho).
        # Past the router's 30 s nothing queues longer: it times out instead (H12).
        # It changes linearly only until it clears or reaches the cap, then stays:
        # integrate piecewise, else a backlog that clears after 4 s is charged for all 30.
        timeout = self.model.router_timeout_s
        slope = rho - 1.0
        end = min(max(delay + slope * dt, 0.0), timeout)
        self.backlog_s = end
        if arrivals <= 0.0:
            return
        if slope > 0.0:
            ramp = min(dt, (timeout - delay) / slope) if delay < timeout else 0.0
        elif slope < 0.0:
            ramp = min(dt, delay / -slope)
        else:
            ramp = 0.0
        rest = dt - ramp
        slow_sum = late_sum = 0.0
        if ramp > 0.0:
            # Midpoint rule over the ramp; the tails are smooth in the delay.
            pieces = BACKLOG_PIECES
            h = ramp / pieces
            mu = self._mu
            target = self.target_ms / 1000.0
            for j in range(pieces):
                d = delay + slope * (j + 0.5) * h
                slow_sum += response_tail(target - d, c, theta, mu) * h
                late_sum += response_tail(timeout - d, c, theta, mu) * h
        if rest > 0.0:
            if end > 0.0:  # held at the cap (or, with rho exactly 1, where it was)
                mu = self._mu
                slow_sum += response_tail(self.target_ms / 1000.0 - end, c, theta, mu) * rest
                late_sum += response_tail(timeout - end, c, theta, mu) * rest
            else:  # cleared: the stationary queue
                slow_sum += slow * rest
                late_sum += late * rest
        self.slow += rps * slow_sum
        self.timeouts += rps * late_sum

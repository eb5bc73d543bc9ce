"""The simulated world seen through the engine's backend Protocols.

:class:`SimProbe` times one request against the model; :class:`SimScaler`
reads and sets the world's dyno count. Both move the world to the engine's
clock before they look, so the engine runs unchanged on a fake clock.
"""

from __future__ import annotations

import math
import random

from autoscalebot.backends.base import Measurement, RequestFigures
from autoscalebot.engine.clock import FakeClock
from autoscalebot.sim.model import World


def _measurement(
    latency_ms: float | None,
    status: int | None,
    error: str | None,
    requests: RequestFigures | None = None,
) -> Measurement:
    """A Measurement without the frozen dataclass's __init__ (a tenth of a simulated beat).

    The fields are set once, here, and never change, so the result is an
    ordinary, equal-comparing Measurement.
    """
    m = object.__new__(Measurement)
    m.__dict__.update(
        latency_ms=latency_ms, status=status, error=error, queues=(), requests=requests
    )
    return m


class SimScaler:
    """Scaling backend over a :class:`World`: new dynos boot before they serve."""

    def __init__(self, world: World, clock: FakeClock) -> None:
        self.world = world
        self.clock = clock

    def current(self) -> int:
        self.world.advance(self.clock.monotonic())
        return self.world.count

    def scale_to(self, quantity: int) -> int:
        self.world.advance(self.clock.monotonic())
        self.world.scale_to(quantity)
        return quantity

    def app_url(self) -> str | None:
        return None

    def close(self) -> None:
        pass


class SimProbe:
    """Measurement backend over a :class:`World`: one heartbeat is one request.

    A heartbeat slower than ``timeout_s`` is a timeout, as the real probe
    reports it; with no dyno serving, the router answers 503 at once (H14).
    With ``keep``, ``beats`` holds ``(t, latency_ms or None, dynos billed)``
    for the chart. With ``figures``, an answered beat also carries what the
    app's middleware would report (the ``requests`` backend): the requests
    the dyno it reached served since the last beat, and their mean service
    time, both with the noise of that many requests.
    """

    def __init__(
        self,
        world: World,
        clock: FakeClock,
        timeout_s: float,
        *,
        keep: bool = False,
        figures: bool = False,
        seed: int = 0,
    ) -> None:
        self.world = world
        self.clock = clock
        self.timeout_ms = timeout_s * 1000.0
        self._error = f"timed out after {timeout_s:g} s"
        self.beats: list[tuple[float, float | None, int]] | None = [] if keep else None
        # Per beat, for the metrics: serving dynos.
        self.serving: list[int] = []
        # Its own stream, so the latency draws are the same with or without figures.
        self._figures = random.Random(f"figures:{seed}") if figures else None
        self._last_t: float | None = None

    def measure(self) -> Measurement:
        world = self.world
        t = self.clock.monotonic()
        world.advance(t)
        self.serving.append(world.serving)
        if world.serving <= 0:
            m = _measurement(20.0, 503, None)
        else:
            ms = world.sample_ms()
            m = (
                _measurement(ms, 200, None, self._read(t))
                if ms <= self.timeout_ms
                else _measurement(None, None, self._error)
            )
        if self.beats is not None:
            self.beats.append((t, m.latency_ms, world.count))
        return m

    def _read(self, t: float) -> RequestFigures | None:
        rng = self._figures
        if rng is None:
            return None
        world = self.world
        span = t - self._last_t if self._last_t is not None else 0.0
        self._last_t = t
        if span <= 0.0:
            return None
        mean = world.rps_now(t) / world.serving * span  # this dyno's share since the last read
        count = max(0, round(rng.gauss(mean, math.sqrt(mean)))) if mean > 0 else 0
        service = world.model.service_ms
        if count:
            service *= max(0.1, 1.0 + rng.gauss(0.0, 1.0 / math.sqrt(count)))  # exponential: cv 1
        return RequestFigures(count, span, service_mean_ms=service if count else None)

    def close(self) -> None:
        pass

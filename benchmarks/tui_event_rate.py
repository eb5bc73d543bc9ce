"""How the console copes with a fast beat rate: input lag and memory.

Feeds the real app (headless, 100x30, panels drawing) engine events from a
worker thread through the same sink the engine uses, at rising rates, and
meanwhile presses a key and times how long until its effect is on screen
(the help dialog open). Then pushes a simulated hour of beats (72,000: an
hour at 20 beats/s) as fast as the thread can and reports the memory after.

Each tick sends what the engine sends: a Beat and a StatusChanged; every
100th tick also a Scaled event for the log.

Usage: python benchmarks/tui_event_rate.py [--seconds 3] [--rates 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from textual import events

from autoscalebot.backends.base import Measurement
from autoscalebot.backends.policy import StreakPolicy
from autoscalebot.config import build_settings
from autoscalebot.engine import events as ev
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine
from autoscalebot.tui.app import AutoscaleApp
from autoscalebot.tui.dialogs import HelpDialog
from autoscalebot.tui.messages import EnginePulse

SIZE = (100, 30)
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
HOUR_OF_BEATS = 72_000


class _Still:
    """Probe and scaler that are never called: the feeder plays the engine."""

    def measure(self) -> Measurement:
        return Measurement(300.0, status=200)

    def current(self) -> int:
        return 2

    def scale_to(self, quantity: int) -> int:
        return quantity

    def app_url(self) -> str:
        return "http://127.0.0.1:9/"

    def close(self) -> None:
        pass


class CountingApp(AutoscaleApp):
    """The console, counting the pulses it handled (merged ones count once)."""

    handled = 0

    def on_engine_pulse(self, message: EnginePulse) -> None:
        # Textual calls the base class's handler too (it walks the MRO).
        self.handled += 1


def make_app() -> CountingApp:
    settings = build_settings(
        {"HEROKU_APP_NAME": "bench-app", "HEROKU_API_KEY": "bench-key", "TIME_ZONE": "UTC"}
    )
    still = _Still()

    def factory(sink: ev.Sink) -> Engine:
        return Engine(
            settings,
            sink=sink,
            clock=FakeClock(),
            probe=still,
            policy=StreakPolicy(settings),
            scaler=still,
            notifiers=[],
        )

    return CountingApp(settings, engine_factory=factory, config_path=None, threaded=False)


def _tick_events(i: int) -> list[ev.Event]:
    latency = 150.0 + (i * 37) % 1200
    outcome = "fail" if latency > 1000 else "pass" if latency < 200 else "ok"
    streaks = {"fails": (i % 3, 3), "passes": (i % 5, 5)}
    status = ev.Status(2, 2, 1, 3, None, None, False, False, None, None, (), f"beat {i}", streaks)
    out: list[ev.Event] = [
        ev.Beat(AT, latency, 200, None, outcome, streaks, 2),
        ev.StatusChanged(AT, status),
    ]
    if i % 100 == 99:
        out.append(ev.Scaled(AT, 2, 3, f"3 beats over 1000 ms (tick {i})", False))
    return out


def feed(
    app: AutoscaleApp, rate: float | None, count: int, stop: threading.Event
) -> threading.Thread:
    """Send ``count`` ticks at ``rate`` per second (None: as fast as possible)."""

    def run() -> None:
        start = time.perf_counter()
        for i in range(count):
            if stop.is_set():
                return
            if rate is not None:
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            for event in _tick_events(i):
                app.sink(event)

    thread = threading.Thread(target=run, name="bench-feeder", daemon=True)
    thread.start()
    return thread


async def _key_latency(app: AutoscaleApp) -> float:
    """Seconds from a key press to the help dialog on screen, and back."""
    started = time.perf_counter()
    app.post_message(events.Key("question_mark", "?"))
    while not isinstance(app.screen, HelpDialog):
        await asyncio.sleep(0.0005)
    took = time.perf_counter() - started
    app.post_message(events.Key("escape", None))
    while isinstance(app.screen, HelpDialog):
        await asyncio.sleep(0.0005)
    return took


@dataclass
class RateResult:
    rate: int
    sent: int
    absorbed_in_window: int
    drain_s: float
    pulses: int
    lag_p50_ms: float
    lag_max_ms: float


async def at_rate(rate: int, seconds: float) -> RateResult:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        stop = threading.Event()
        count = int(rate * seconds)
        feeder = feed(app, rate, count, stop)
        lags = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline - 0.2 and len(lags) < 20:
            await asyncio.sleep(seconds / 12)
            lags.append(await _key_latency(app))
        feeder.join(seconds * 4)
        absorbed = app.chart.total
        drained = time.perf_counter()
        while app.chart.total < count and time.perf_counter() - drained < 30:
            await asyncio.sleep(0.005)
        drain = time.perf_counter() - drained
        return RateResult(
            rate,
            count,
            absorbed,
            drain,
            app.handled,
            statistics.median(lags) * 1000,
            max(lags) * 1000,
        )


def rss_mb() -> float:
    """Resident memory now (Linux), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def hour_of_beats() -> dict[str, float]:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = rss_mb()
        stop = threading.Event()
        started = time.perf_counter()
        feeder = feed(app, None, HOUR_OF_BEATS, stop)
        lags = []
        while feeder.is_alive() or app.chart.total < HOUR_OF_BEATS:
            lags.append(await _key_latency(app))
            await asyncio.sleep(0.05)
            if time.perf_counter() - started > 300:
                break
        took = time.perf_counter() - started
        await pilot.pause()
        return {
            "beats": app.chart.total,
            "seconds": took,
            "beats_per_s": app.chart.total / took,
            "pulses": app.handled,
            "log_lines_kept": len(app.event_log.lines),
            "log_lines_written": app.event_log.written,
            "rss_before_mb": before,
            "rss_after_mb": rss_mb(),
            "lag_p50_ms": statistics.median(lags) * 1000,
            "lag_max_ms": max(lags) * 1000,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="feeding time per rate")
    parser.add_argument("--rates", default="10,100,1000,10000", help="beats per second")
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]

    print(f"Console under a beat flood ({SIZE[0]}x{SIZE[1]}, {args.seconds:g} s per rate)")
    print()
    print(
        "| beats/s | sent | shown by end of feed | drain after | pulses handled | key lag p50 | key lag max |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rate in rates:
        r = asyncio.run(at_rate(rate, args.seconds))
        print(
            f"| {r.rate} | {r.sent} | {r.absorbed_in_window} | {r.drain_s * 1000:.0f} ms | "
            f"{r.pulses} | {r.lag_p50_ms:.1f} ms | {r.lag_max_ms:.1f} ms |"
        )
    print()
    h = asyncio.run(hour_of_beats())
    print(f"A simulated hour: {HOUR_OF_BEATS} beats (20/s for an hour) pushed as fast as possible")
    print()
    print(
        "| beats shown | took | beats/s absorbed | pulses handled | log lines kept/written "
        "| RSS before | RSS after | key lag p50 | key lag max |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {h['beats']:.0f} | {h['seconds']:.1f} s | {h['beats_per_s']:.0f} | {h['pulses']:.0f} | "
        f"{h['log_lines_kept']:.0f}/{h['log_lines_written']:.0f} | {h['rss_before_mb']:.1f} MiB | "
        f"{h['rss_after_mb']:.1f} MiB | {h['lag_p50_ms']:.1f} ms | {h['lag_max_ms']:.1f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

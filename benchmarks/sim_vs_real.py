"""Simulator versus reality: one trace through ``simulate`` and through real gunicorn.

    python benchmarks/sim_vs_real.py [--trace step|diurnal] [--policies streak,adaptive]

The same short trace (about 70 s of real time) is played twice per policy:

- through the simulator (``autoscalebot.sim``): the real engine on a fake
  clock against the modelled app, with every gunicorn worker a "dyno" of
  concurrency 1, the same service time, a boot time measured on this
  machine (SIGTTIN until a new worker answers), the same heartbeat interval,
  thresholds and bounds; the mean over ``--sim-seeds`` seeds;
- through the real closed loop (``tests/closed_loop/harness.py``): gunicorn
  with sync workers sleeping the service time (fixed, or with ``--service
  exp`` exponential as in the model), a seeded Poisson load
  replaying the trace on loopback, and the real ``autoscalebot --headless``
  scaling the workers with TTIN/TTOU. ``--real-runs`` per policy (one by default).

It prints, per policy, the share of requests slower than
MAX_RESPONSE_TIME_IN_MS (failed or skipped requests count as slow), the
worker-seconds (workers alive, booting included, over the trace), the time
from the start to the first added worker, and the gaps. A second table
replays the real run's worker timeline through the model, to say where a
gap comes from: the simulator's world (random routing to single-worker
"dynos", each its own M/M/1 queue), one pooled M/M/k queue (what a gunicorn
master's shared listen socket is), and what was measured.

The bot's heartbeats are load too (one request each interval): the
simulated trace carries them on top of the load generator's rate.
Everything runs on 127.0.0.1, each real run is bounded by the trace's length
plus a few seconds, and every process started is stopped by its own pid.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoscalebot.config import build_settings  # noqa: E402
from autoscalebot.sim import runner, traces  # noqa: E402
from autoscalebot.sim.model import AppModel, slow_share  # noqa: E402
from autoscalebot.sim.oracle import Plan  # noqa: E402
from autoscalebot.sim.table import render  # noqa: E402
from tests.closed_loop.harness import (  # noqa: E402
    BotProcess,
    GunicornServer,
    LoadGenerator,
    Scenario,
    WorkerSampler,
    get,
)

MAX_IN_FLIGHT = 200  # the load generator's bound; requests beyond it are skipped (slow)
REQUEST_TIMEOUT_S = 10.0
APPS = {"fixed": "wsgi_app:app", "exp": "wsgi_exp_app:app"}


@dataclass(frozen=True)
class Setup(Scenario):
    """What both sides share: the closed loop's scenario, faster beats, a policy's knobs."""

    interval: float = 0.5
    max_workers: int = 6
    # Under the interval: a beat that overruns its slot makes the real bot skip the next
    # slot (Engine.run), while the simulator ticks every interval whatever a beat took.
    timeout_s: float = 0.4
    down_window_s: float = 7.0  # adaptive's 420 s, compressed as the heartbeat is (30 s -> 0.5 s)
    boot_s: float = 0.01
    policy: str = "streak"
    app: str = "wsgi_app:app"  # fixed service time; wsgi_exp_app:app draws it, as the model does

    def decision_settings(self) -> dict[str, Any]:
        return super().decision_settings() | {
            "DECISION_BACKEND": runner.policy_path(self.policy),
            "HEARTBEAT_TIMEOUT_IN_SECONDS": self.timeout_s,
            "APP_SERVICE_TIME_IN_MS": self.service_ms,
            "APP_CONCURRENCY": 1,
            "APP_BOOT_SECONDS": self.boot_s,
            "ADAPTIVE_DOWN_WINDOW_SECONDS": self.down_window_s,
            "TIME_ZONE": "UTC",
        }


def make_trace(name: str, seed: int) -> traces.Trace:
    """About 70 s of load in 1 s (step) or 0.5 s (diurnal) steps."""
    if name == "step":
        rps = [5.0] * 15 + [50.0] * 30 + [5.0] * 25
        return traces.Trace("step", tuple(rps), 1.0, events=(15.0,))
    # A working day (10-minute steps, 144 of them) compressed 1200 times: 72 s.
    day = traces.generate("diurnal", days=1.0, seed=seed, peak_rps=50.0, step_s=600.0)
    return traces.Trace("diurnal", day.rps, 0.5)


def measure_boot(workdir: Path, tries: int = 3) -> float:
    """Seconds from SIGTTIN until the new worker answers (median of ``tries``).

    One worker is kept busy by a 1 s request; a second request sent with the
    signal can only be answered by the new worker, 1 s after it took it.
    """
    slow_ms = 1000.0
    seen = []
    with GunicornServer(workdir, workers=1, service_ms=slow_ms) as server:
        for _ in range(tries):
            busy = threading.Thread(target=get, args=(server.url,), kwargs={"timeout": 5.0})
            busy.start()
            time.sleep(0.1)  # the busy request reaches the worker first
            sent = time.monotonic()
            os.kill(server.pid, signal.SIGTTIN)
            get(server.url, timeout=5.0)
            seen.append(max(0.0, time.monotonic() - sent - slow_ms / 1000.0))
            busy.join(5.0)
            os.kill(server.pid, signal.SIGTTOU)
            deadline = time.monotonic() + 5.0
            while server.worker_count() > 1 and time.monotonic() < deadline:
                time.sleep(0.05)
    return statistics.median(seen)


# ---- the real closed loop ----


@dataclass
class RealRun:
    slow_pct: float
    worker_s: float
    first_up_s: float | None
    peak: float
    scales: float
    requests: float
    skipped: float
    plan: Plan


def worker_seconds(samples: list[tuple[float, int]], start: float, end: float) -> float:
    """The integral of the sampled worker count over [start, end] (each sample holds until the next)."""
    total = 0.0
    for (at, n), (nxt, _) in zip(samples, [*samples[1:], (end, 0)], strict=True):
        a, b = max(at, start), min(nxt, end)
        if b > a:
            total += n * (b - a)
    return total


def run_real(workdir: Path, setup: Setup, trace: traces.Trace, seed: int) -> RealRun:
    """One policy through real gunicorn; everything started here is stopped before returning."""
    server = GunicornServer(
        workdir, workers=setup.min_workers, service_ms=setup.service_ms, app=setup.app
    )
    server.start()
    bot = load = sampler = None
    try:
        bot = BotProcess(
            setup.bot_settings(server), workdir, duration=trace.duration_s + 20.0
        ).start()
        if bot.wait_for(lambda line: line.fields.get("event") == "beat", timeout=15) is None:
            raise RuntimeError(f"the bot did not beat:\n{bot.output()[-3000:]}")
        load = LoadGenerator(
            server.url, max_in_flight=MAX_IN_FLIGHT, timeout=REQUEST_TIMEOUT_S, seed=seed
        )
        sampler = WorkerSampler(server, every=0.05).start()
        start = time.monotonic()
        load.replay(list(trace.rps), trace.step_s)
        end = time.monotonic()
    finally:
        for part in (load, sampler, bot):
            if part is not None:
                part.stop()
        server.stop()
    assert bot is not None and load is not None and sampler is not None
    mine = [r for r in load.requests if start <= r.started < end]
    target = setup.max_ms / 1000.0
    slow = sum(1 for r in mine if r.seconds is None or r.status != 200 or r.seconds > target)
    asked = len(mine) + load.skipped
    scales = [
        (line.at - start, int(line.fields["from"]), int(line.fields["to"]))
        for line in bot.lines
        if line.fields.get("event") == "scale" and start <= line.at <= end
    ]
    first_up = next((t for t, a, b in scales if b > a), None)
    in_window = [n for at, n in sampler.samples if start <= at <= end]
    return RealRun(
        slow_pct=100.0 * (slow + load.skipped) / asked if asked else math.nan,
        worker_s=worker_seconds(sampler.samples, start, end),
        first_up_s=first_up,
        peak=max(in_window, default=0),
        scales=len(scales),
        requests=len(mine),
        skipped=load.skipped,
        plan=Plan(setup.min_workers, tuple((t, b) for t, _, b in scales)),
    )


def mean_run(runs: list[RealRun]) -> RealRun:
    """The mean of several real runs (first added worker: the median); the first one's plan."""
    firsts = [r.first_up_s for r in runs if r.first_up_s is not None]
    return RealRun(
        slow_pct=statistics.fmean(r.slow_pct for r in runs),
        worker_s=statistics.fmean(r.worker_s for r in runs),
        first_up_s=statistics.median(firsts) if firsts else None,
        peak=statistics.fmean(r.peak for r in runs),
        scales=statistics.fmean(r.scales for r in runs),
        requests=statistics.fmean(r.requests for r in runs),
        skipped=statistics.fmean(r.skipped for r in runs),
        plan=runs[0].plan,
    )


# ---- the simulator ----


@dataclass
class SimRun:
    slow_pct: float
    worker_s: float
    first_up_s: float | None
    peak: float
    scales: float


def sim_scenario(setup: Setup, trace: traces.Trace, seed: int) -> runner.Scenario:
    settings = build_settings(setup.decision_settings(), require_platform=False)
    model = AppModel(
        service_ms=setup.service_ms,
        concurrency=1,
        boot_seconds=setup.boot_s,
        router_timeout_s=REQUEST_TIMEOUT_S,
        listen_backlog=MAX_IN_FLIGHT,
    )
    # The bot's own heartbeats load the app too: one request per interval.
    beats = 1.0 / setup.interval
    loaded = traces.Trace(trace.name, tuple(r + beats for r in trace.rps), trace.step_s)
    return runner.prepare(
        loaded, settings, model=model, seed=seed, target_ms=setup.max_ms, slo_share=0.05
    )


def run_sim(setup: Setup, trace: traces.Trace, seeds: int) -> SimRun:
    """The mean over ``seeds`` simulated runs (first added worker: the median)."""
    slow, cost, firsts, peaks, scales = [], [], [], [], []
    for seed in range(seeds):
        sc = sim_scenario(setup, trace, seed)
        result = runner.run_policy(sc, setup.policy, keep=True)
        m = result.metrics
        slow.append(m.slow_pct)
        cost.append(m.dyno_hours * 3600.0)
        scales.append(m.scales)
        series = result.series
        assert series is not None
        start = series.count[0] if series.count else setup.min_workers
        first = next((t for t, n in zip(series.t, series.count, strict=True) if n > start), None)
        if first is not None:
            firsts.append(first)
        peaks.append(max(series.count, default=0))
    return SimRun(
        slow_pct=statistics.fmean(slow),
        worker_s=statistics.fmean(cost),
        first_up_s=statistics.median(firsts) if firsts else None,
        peak=statistics.fmean(peaks),
        scales=statistics.fmean(scales),
    )


def pooled_slow_pct(setup: Setup, trace: traces.Trace, plan: Plan) -> float:
    """Slow % of the real worker timeline read as one M/M/k queue per moment (stationary).

    The model's own formula with every worker behind one queue (a dyno of
    concurrency k), instead of k single-worker dynos behind a random router.
    """
    beats = 1.0 / setup.interval
    calls = list(plan.calls)
    slow = total = 0.0
    workers = plan.initial
    for i, base in enumerate(trace.rps):
        t0 = i * trace.step_s
        while calls and calls[0][0] <= t0:
            workers = calls.pop(0)[1]
        rps = base + beats
        model = AppModel(service_ms=setup.service_ms, concurrency=workers)
        slow += rps * slow_share(model, rps, 1, setup.max_ms)
        total += rps
    return 100.0 * slow / total if total else math.nan


# ---- the table ----


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", choices=("step", "diurnal"), default="step")
    parser.add_argument("--policies", default="streak,adaptive")
    parser.add_argument(
        "--service",
        choices=("fixed", "exp"),
        default="fixed",
        help="the real app's service time: a fixed sleep, or exponential as the model has it",
    )
    parser.add_argument("--sim-seeds", type=int, default=20, help="simulated runs per policy")
    parser.add_argument(
        "--real-runs", type=int, default=1, help="real runs per policy (about 75 s each)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--boot-seconds",
        type=float,
        help="a gunicorn worker's boot (default: measured here with SIGTTIN)",
    )
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if runner.policy_name(p) not in runner.POLICIES]
    if unknown:
        print(f"sim_vs_real: error: --policies: unknown {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not 1 <= args.sim_seeds <= 1000 or not 1 <= args.real_runs <= 20:
        print("sim_vs_real: error: --sim-seeds 1-1000, --real-runs 1-20", file=sys.stderr)
        return 2
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autoscalebot-sim-vs-real-") as tmp:
        boot = args.boot_seconds
        if boot is None:
            (Path(tmp) / "boot").mkdir()
            boot = measure_boot(Path(tmp) / "boot")
        setup = Setup(boot_s=boot, app=APPS[args.service])
        trace = make_trace(args.trace, args.seed)
        mean = statistics.fmean(trace.rps)
        print(
            f"trace '{trace.name}': {trace.duration_s:g} s in {trace.step_s:g} s steps, "
            f"peak {trace.peak:.0f} rps, mean {mean:.1f} rps (+{1 / setup.interval:g} rps of "
            "heartbeats in the simulator)"
        )
        print(
            f"app: {setup.service_ms:g} ms a request (real: {args.service}; model: exponential), "
            f"1 request per worker at once, worker boot {boot * 1000:.0f} ms"
            + (" (measured)" if args.boot_seconds is None else "")
        )
        print(
            f"bot: beat every {setup.interval:g} s (timeout {setup.timeout_s:g} s), "
            f"fail > {setup.max_ms:g} ms x{setup.fails}, "
            f"pass < {setup.min_ms:g} ms x{setup.passes}, workers {setup.min_workers}-"
            f"{setup.max_workers}; slow: a request over {setup.max_ms:g} ms; sim: mean of "
            f"{args.sim_seeds} seeds, real: mean of {args.real_runs} run(s)\n"
        )
        rows, why = [], []
        for policy in policies:
            one = dataclasses.replace(setup, policy=policy)
            sim = run_sim(one, trace, args.sim_seeds)
            runs = []
            for i in range(args.real_runs):
                workdir = Path(tmp) / f"{policy}-{i}"
                workdir.mkdir()
                runs.append(run_real(workdir, one, trace, args.seed + i))
            real = mean_run(runs)
            rows.append(
                (
                    policy,
                    f"{sim.slow_pct:.1f}",
                    f"{real.slow_pct:.1f}",
                    f"{sim.slow_pct - real.slow_pct:+.1f}",
                    f"{sim.worker_s:.0f}",
                    f"{real.worker_s:.0f}",
                    f"{100.0 * (sim.worker_s / real.worker_s - 1.0):+.0f}%"
                    if real.worker_s
                    else "-",
                    _s(sim.first_up_s),
                    _s(real.first_up_s),
                    f"{sim.peak:.1f}",
                    f"{real.peak:.1f}",
                    f"{sim.scales:.1f}",
                    f"{real.scales:.1f}",
                )
            )
            replayed = statistics.fmean(
                runner.run_plan(sim_scenario(one, trace, args.seed), r.plan, "").metrics.slow_pct
                for r in runs
            )
            pooled = statistics.fmean(pooled_slow_pct(one, trace, r.plan) for r in runs)
            why.append(
                (
                    policy,
                    f"{replayed:.1f}",
                    f"{pooled:.1f}",
                    f"{real.slow_pct:.1f}",
                    f"{real.requests:.0f} (+{real.skipped:.0f} skipped)",
                )
            )
    print(
        render(
            rows,
            (
                "policy",
                "slow % sim",
                "real",
                "gap pp",
                "worker-s sim",
                "real",
                "gap",
                "first +worker s sim",
                "real",
                "peak sim",
                "real",
                "scales sim",
                "real",
            ),
        )
    )
    print()
    print("The real run's worker timeline, its slow % read three ways:")
    print(
        render(
            why,
            (
                "policy",
                "sim world (M/M/1 each, random router)",
                "pooled M/M/k, stationary",
                "measured",
                "requests",
            ),
        )
    )
    print(f"\n{time.monotonic() - began:.0f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())

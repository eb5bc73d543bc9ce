"""The policy bench: every policy over its own knob x every trace family x N seeds.

    python benchmarks/policy_bench.py                 # 9 families x 10 seeds x 1.5 days, 2 processes
    python benchmarks/policy_bench.py --seeds 3 --families flash,burst   # a quick look
    python benchmarks/policy_bench.py --json frontiers.json   # also the points, for the picture

Each run drives the real engine on a fake clock against the simulated app
(``autoscalebot.sim``). Every run is judged by one fixed reference SLO: 95 %
of requests under 1000 ms, whatever thresholds the policy itself is given.

For every family it prints the default settings' table (cost in dyno-hours
and as a multiple of the oracle's, slow share, router timeouts, scale calls,
flaps, median reaction to a load step), then each policy's frontier: its
knob swept (``autoscalebot.sim.frontier.KNOBS``), the settings no other
setting of it beats on both cost and slow share. Then the verdict: at each
point of each baseline's frontier, how much cheaper (+) or dearer (-) the
best policy's frontier is at that same slow share, and where it loses (is
dearer, or never gets that few slow requests).

``scripts/frontier_svg.py`` draws the JSON this writes with ``--json``.

``--learn`` adds how much adaptive's cost and slow share move when
``APP_SERVICE_TIME_IN_MS`` or ``APP_CONCURRENCY`` is 50 % off, with the beats
carrying the app middleware's request figures (the ``requests`` backend), and
without them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

from autoscalebot.config import build_settings
from autoscalebot.config.settings import Settings
from autoscalebot.sim import frontier, runner, traces
from autoscalebot.sim.metrics import Metrics, summarise
from autoscalebot.sim.table import metrics_table, render

BENCH_SETTINGS = {"TIME_ZONE": "UTC", "MIN_DYNOS": 1, "MAX_DYNOS": 60, **frontier.PINNED}
PEAK_RPS = 150.0
BEST = "adaptive"
DEFAULT_DAYS = 1.5  # 9 families x 10 seeds x 27 settings in under 3 min on 2 cores

Job = tuple[str, int, float, tuple[str, ...]]


def bench_settings() -> Settings:
    return build_settings(BENCH_SETTINGS, require_platform=False)


def run_job(job: Job) -> tuple[list[Metrics], dict[str, float], int]:
    """One family and seed: bounds, then every policy at every setting of its knob.

    Returns (rows, CPU seconds per policy, beats per run).
    """
    family, seed, days, policies = job
    settings = bench_settings()
    window = (
        settings.number_of_fails_to_scale_up_after + settings.number_of_passes_to_scale_down_after
    ) * settings.heartbeat_interval_in_seconds
    trace = traces.generate(family, days=days, seed=seed, peak_rps=PEAK_RPS, window_s=window)
    sc = runner.prepare(trace, settings, seed=seed)  # the reference SLO: 1000 ms, p95
    best, static = runner.run_bounds(sc)
    hours = best.metrics.dyno_hours
    rows = [best.metrics, static.metrics]
    spent: dict[str, float] = defaultdict(float)
    for name in policies:
        for label, tuned in frontier.settings_grid(name, sc.settings):
            t = time.process_time()
            rows.append(
                runner.run_policy(sc, name, label=label, oracle_hours=hours, settings=tuned).metrics
            )
            spent[name] += time.process_time() - t
    return rows, dict(spent), int(trace.duration_s // settings.heartbeat_interval_in_seconds)


MISTAKES = (
    ("APP_SERVICE_TIME_IN_MS 50", {"APP_SERVICE_TIME_IN_MS": 50.0}),
    ("APP_SERVICE_TIME_IN_MS 150", {"APP_SERVICE_TIME_IN_MS": 150.0}),
    ("APP_CONCURRENCY 1", {"APP_CONCURRENCY": 1}),
    ("APP_CONCURRENCY 3", {"APP_CONCURRENCY": 3}),
)


def learn_job(job: tuple[str, int, float]) -> list[tuple[str, bool, float, float]]:
    """(mistake or 'right', figures?, dyno-hours, slow %) for adaptive on one family and seed."""
    family, seed, days = job
    settings = bench_settings()
    trace = traces.generate(family, days=days, seed=seed, peak_rps=PEAK_RPS)
    sc = runner.prepare(trace, settings, seed=seed)
    out = []
    for figures in (True, False):
        for name, over in (("right", {}), *MISTAKES):
            m = runner.run_policy(
                sc, BEST, settings=frontier.tuned(sc.settings, over), figures=figures
            ).metrics
            out.append((name, figures, m.dyno_hours, m.slow_pct))
    return out


def learn_table(results: list[list[tuple[str, bool, float, float]]]) -> str:
    sums: dict[tuple[str, bool], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for rows in results:
        for name, figures, hours, slow in rows:
            sums[(name, figures)][0] += hours
            sums[(name, figures)][1] += slow
    out = []
    for figures in (True, False):
        right = sums[("right", figures)]
        for name, _ in MISTAKES:
            h, s = sums[(name, figures)]
            out.append(
                (
                    name,
                    "figures" if figures else "latency only",
                    f"{h / right[0] - 1:+.1%}",
                    f"{s / right[1] - 1:+.1%}" if right[1] else "-",
                    f"{(s - right[1]) / len(results):+.2f}",
                )
            )
    return render(out, ("setting 50 % off", "beats", "cost", "slow share", "slow pp"))


def engine_tick_us(ticks: int = 50_000) -> float:
    """CPU microseconds per Engine.tick() with constant in-memory backends (no sink)."""
    from autoscalebot.backends.base import Measurement, Verdict
    from autoscalebot.engine.clock import FakeClock
    from autoscalebot.engine.engine import Engine

    beat, verdict_ = Measurement(300.0, status=200), Verdict("ok")

    class Probe:
        def measure(self) -> Measurement:
            return beat

        def close(self) -> None: ...

    class Policy:
        def observe(self, m: Measurement, **_: object) -> Verdict:
            return verdict_

        def reset(self) -> None: ...

        def configure(self, settings: Settings) -> None: ...

    class Scaler:
        def current(self) -> int:
            return 3

        def scale_to(self, n: int) -> int:
            return n

        def app_url(self) -> None:
            return None

        def close(self) -> None: ...

    clock = FakeClock()
    engine = Engine(
        bench_settings(),
        clock=clock,
        probe=Probe(),
        policy=Policy(),
        scaler=Scaler(),
        notifiers=[],
        notify_async=False,
    )
    start = time.process_time()
    for _ in range(ticks):
        engine.tick()
        clock.advance(30.0)
    return (time.process_time() - start) / ticks * 1e6


def frontiers(
    by: dict[tuple[str, str], list[Metrics]], families: list[str], policies: list[str]
) -> dict[str, dict[str, list[frontier.Point]]]:
    """{family: {policy: its points (means over seeds)}}."""
    out: dict[str, dict[str, list[frontier.Point]]] = {}
    for family in families:
        rows = {
            label: (summarise(ms, label, family).slow_pct, summarise(ms, label, family).vs_oracle)
            for (label, fam), ms in by.items()
            if fam == family
        }
        out[family] = frontier.points_by_policy(rows, policies)
    return out


def frontier_table(points: dict[str, list[frontier.Point]]) -> str:
    rows = []
    for policy, pts in points.items():
        front = frontier.pareto(pts)
        for p in sorted(pts, key=lambda p: p.slow_pct):
            on = "*" if p in front else ""
            rows.append((policy, p.knob, frontier._pct(p.slow_pct), f"{p.cost:.3f}", on))
    return render(rows, ("policy", "setting", "slow %", "x oracle", "on frontier"))


def verdict(
    fronts: dict[str, dict[str, list[frontier.Point]]], best: str, baselines: list[str]
) -> tuple[str, list[str]]:
    rows = []
    losses = []
    for family, points in fronts.items():
        ours = points.get(best, [])
        for base in baselines:
            if base not in points or not ours:
                continue
            c = frontier.compare(ours, points[base], base)
            worst, mid, top, where = frontier.summary(c)
            rows.append((family, base, worst, mid, top, "yes" if c.wins_everywhere else "LOSES"))
            if not c.wins_everywhere:
                losses.append(f"{family} vs {base}: {where}")
    headers = ("family", "baseline", "worst", "median", "best", f"{best} at or below it")
    return render(rows, headers), losses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--days", type=float, default=DEFAULT_DAYS)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--families", default=",".join(traces.FAMILIES))
    p.add_argument("--policies", default=",".join(runner.POLICIES))
    p.add_argument(
        "--best", default=BEST, help="the policy whose frontier is compared (default adaptive)"
    )
    p.add_argument("--json", type=Path, help="also write every family's points here")
    p.add_argument(
        "--learn", action="store_true", help="also: adaptive with APP_* 50 %% off, figures or not"
    )
    args = p.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    # Either spelling (step or step-scaling): the tables and the verdict use the short one.
    policies = tuple(runner.policy_name(x) for x in args.policies.split(",") if x)
    # The burst family has 10 s steps (six times the segments): start those first.
    order = sorted(families, key=lambda f: f != "burst")
    jobs: list[Job] = [(f, s, args.days, policies) for f in order for s in range(args.seeds)]
    started = time.perf_counter()
    if args.workers > 1:
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(run_job, jobs, chunksize=1)
    else:
        results = [run_job(j) for j in jobs]
    wall = time.perf_counter() - started
    by: dict[tuple[str, str], list[Metrics]] = defaultdict(list)
    cpu: dict[str, float] = defaultdict(float)
    runs = 0
    beats = 0
    for rows, spent, per_run in results:
        for m in rows:
            by[(m.policy, m.trace)].append(m)
        for name, seconds in spent.items():
            cpu[name] += seconds
        runs += len(rows) - 2
        beats += (len(rows) - 2) * per_run
    print(
        f"Policy bench: {len(families)} families x {args.seeds} seeds x {args.days:g} days, "
        f"peak {PEAK_RPS:g} rps, settings {BENCH_SETTINGS} (others default),\n"
        f"app model {runner.AppModel()}"
    )
    print(
        f"Reference SLO for every run: {100 - 100 * runner.DEFAULT_SLO_SHARE:g} % of requests under "
        "1000 ms, whatever the policy's own thresholds; means over seeds (react: median)\n"
    )
    names = ["oracle", runner.ORACLE_INFEASIBLE, "static", *policies]
    fronts = frontiers(by, families, list(policies))
    for family in families:
        print(f"## {family}: default settings")
        print(
            metrics_table(
                [summarise(by[(n, family)], n, family) for n in names if by.get((n, family))]
            )
        )
        print()
        print(f"## {family}: every setting of every knob (* on the policy's frontier)")
        print(frontier_table(fronts[family]))
        print()
    baselines = [b for b in runner.BASELINES if b in policies and b != args.best]
    if args.best in policies and baselines:
        text, losses = verdict(fronts, args.best, baselines)
        print(
            f"## Verdict: {args.best}'s frontier against each baseline's, at each point of the "
            "baseline's frontier\nfrom {lo:g} % to {hi:g} % slow (+: cheaper at the same slow share)".format(
                lo=frontier.VERDICT_RANGE[0], hi=frontier.VERDICT_RANGE[1]
            )
        )
        print(text)
        print()
        print(
            f"Where {args.best} still loses: "
            + ("; ".join(losses) if losses else "nowhere in this run")
        )
        print()
    if args.learn:
        learn_jobs = [(f, s, args.days) for f in order for s in range(args.seeds)]
        if args.workers > 1:
            with multiprocessing.get_context("fork").Pool(args.workers) as pool:
                learnt = pool.map(learn_job, learn_jobs, chunksize=1)
        else:
            learnt = [learn_job(j) for j in learn_jobs]
        print(
            f"## Learning the app: {args.best} with one APP_* setting 50 % off, against the same "
            "policy with it right (all families and seeds)"
        )
        print(learn_table(learnt))
        print()
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "families": {
                        f: {
                            pol: [[pt.knob, pt.slow_pct, pt.cost] for pt in pts]
                            for pol, pts in fronts[f].items()
                        }
                        for f in families
                    },
                    "best": args.best,
                    "seeds": args.seeds,
                    "days": args.days,
                },
                indent=1,
            )
            + "\n"
        )
        print(f"Points written to {args.json}")
    per_policy = ", ".join(
        f"{name} {cpu[name] / max(1, beats) * 1e6 * runs / max(1, runs):.1f}" for name in policies
    )
    print(
        f"{runs} engine runs, {beats:,} beats in {wall:.1f} s wall on {args.workers} processes "
        f"({os.cpu_count()} cpus); {sum(cpu.values()) / max(1, beats) * 1e6:.1f} us CPU per beat"
    )
    del per_policy
    print(
        f"Engine alone: {engine_tick_us():.1f} us per tick (Engine.tick with constant in-memory backends)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

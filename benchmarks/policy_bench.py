"""The policy bench: every policy x every trace family x N seeds, 7 simulated days each.

    python benchmarks/policy_bench.py            # the full table (10 seeds, 2 workers)
    python benchmarks/policy_bench.py --seeds 3 --days 2   # a quick look

Each run drives the real engine on a fake clock against the simulated app
(``autoscalebot.sim``). For every family it prints the mean over seeds of
cost (dyno-hours, and as a multiple of the oracle's), the share of requests
slower than MAX_RESPONSE_TIME_IN_MS, router timeouts, scale calls, flaps
(direction changes within 10 min) and the median reaction to a load step.

Then the verdict. Cost and slow share trade against each other, so the
adaptive policy is also run at several TARGET_PERCENTILE levels (its one
knob). For each baseline and family the cheapest level whose slow share is
at or below the baseline's is compared with it: in the mean over seeds, and
seed by seed (cheaper and no slower). The last column interpolates the
adaptive cost at exactly the baseline's slow share, between the two levels
around it.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import sys
import time
from collections import defaultdict

from autoscalebot.config import build_settings
from autoscalebot.config.settings import Settings
from autoscalebot.sim import runner, traces
from autoscalebot.sim.metrics import Metrics, summarise
from autoscalebot.sim.table import metrics_table, render

BENCH_SETTINGS = {"TIME_ZONE": "UTC", "MIN_DYNOS": 1, "MAX_DYNOS": 60}
PEAK_RPS = 150.0
LEVELS = (99.5, 90.0, 69.0, 60.0)  # p95 is the default "adaptive" run
DEFAULT_LEVEL = 95.0


def bench_settings() -> Settings:
    return build_settings(BENCH_SETTINGS, require_platform=False)


def with_percentile(settings: Settings, level: float) -> Settings:
    return dataclasses.replace(settings, target_percentile=level)


def level_label(level: float) -> str:
    return "adaptive" if level == DEFAULT_LEVEL else f"adaptive@p{level:g}"


def run_job(
    job: tuple[str, int, float, tuple[str, ...], tuple[float, ...]],
) -> tuple[list[Metrics], dict[str, float], int]:
    """One family and seed: bounds, every policy, every adaptive level.

    Returns (rows, CPU seconds per policy label, beats per run).
    """
    family, seed, days, policies, levels = job
    settings = bench_settings()
    window = (
        settings.number_of_fails_to_scale_up_after + settings.number_of_passes_to_scale_down_after
    ) * settings.heartbeat_interval_in_seconds
    trace = traces.generate(family, days=days, seed=seed, peak_rps=PEAK_RPS, window_s=window)
    sc = runner.prepare(trace, settings, seed=seed)
    best, static = runner.run_bounds(sc)
    hours = best.metrics.dyno_hours
    rows = [best.metrics, static.metrics]
    spent: dict[str, float] = {}
    runs = [(name, name, sc.settings) for name in policies]
    runs += [("adaptive", level_label(x), with_percentile(sc.settings, x)) for x in levels]
    for name, label, tuned in runs:
        t = time.process_time()
        rows.append(
            runner.run_policy(sc, name, label=label, oracle_hours=hours, settings=tuned).metrics
        )
        spent[label] = time.process_time() - t
    return rows, spent, int(trace.duration_s // settings.heartbeat_interval_in_seconds)


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


def _interpolated(points: list[tuple[float, float]], slow: float) -> float | None:
    """Cost at ``slow`` on the line between the two (slow, cost) points that bracket it."""
    points = sorted(points)
    for (s1, c1), (s2, c2) in zip(points, points[1:], strict=False):
        if s1 <= slow <= s2 and s2 > s1:
            return c1 + (c2 - c1) * (slow - s1) / (s2 - s1)
    return None


def verdict(
    by: dict[tuple[str, str], list[Metrics]],
    families: list[str],
    baselines: list[str],
    levels: tuple[float, ...],
) -> tuple[str, list[str]]:
    """For each family and baseline: the cheapest adaptive level at or below its slow share.

    Also the adaptive cost interpolated at exactly the baseline's slow share,
    between the two levels around it (the levels are a grid; the baseline
    rarely falls on one).
    """
    out = []
    losses = []
    headers = (
        "family",
        "baseline",
        "its x oracle",
        "its slow %",
        "adaptive level",
        "x oracle",
        "slow %",
        "cheaper by",
        "seeds won",
        "at its slow % (interp.)",
    )
    all_levels = sorted({*levels, DEFAULT_LEVEL}, reverse=True)
    for family in families:
        curve = []
        for level in all_levels:
            rows = by.get((level_label(level), family))
            if rows:
                curve.append((level, summarise(rows, level_label(level), family), rows))
        for base in baselines:
            b_rows = sorted(by[(base, family)], key=lambda r: r.seed)
            b = summarise(b_rows, base, family)
            interp = _interpolated([(a.slow_pct, a.vs_oracle) for _, a, _ in curve], b.slow_pct)
            interp_text = f"{1 - interp / b.vs_oracle:+.1%}" if interp is not None else "-"
            eligible = [c for c in curve if c[1].slow_pct <= b.slow_pct]
            if not eligible:
                out.append(
                    (
                        family,
                        base,
                        f"{b.vs_oracle:.3f}",
                        f"{b.slow_pct:.2f}",
                        "none as few",
                        "-",
                        "-",
                        "LOSES",
                        "-",
                        interp_text,
                    )
                )
                losses.append(f"{family}/{base}: no level reaches its {b.slow_pct:.2f} % slow")
                continue
            level, a, rows = min(eligible, key=lambda c: c[1].vs_oracle)
            won = sum(
                1
                for x, y in zip(sorted(rows, key=lambda r: r.seed), b_rows, strict=True)
                if x.dyno_hours < y.dyno_hours and x.slow_pct <= y.slow_pct
            )
            gain = 1.0 - a.dyno_hours / b.dyno_hours
            mark = f"{gain:.1%}" if gain > 0 else f"LOSES ({-gain:.1%})"
            if gain <= 0:
                extra = f"; at its exact slow share {interp_text}" if interp is not None else ""
                losses.append(f"{family}/{base}: {-gain:.1%} dearer at p{level:g}{extra}")
            out.append(
                (
                    family,
                    base,
                    f"{b.vs_oracle:.3f}",
                    f"{b.slow_pct:.2f}",
                    f"p{level:g}",
                    f"{a.vs_oracle:.3f}",
                    f"{a.slow_pct:.2f}",
                    mark,
                    f"{won}/{len(rows)}",
                    interp_text,
                )
            )
    return render(out, headers), losses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--days", type=float, default=7.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--families", default=",".join(traces.FAMILIES))
    p.add_argument("--policies", default=",".join(runner.POLICIES))
    p.add_argument(
        "--levels",
        default=",".join(f"{x:g}" for x in LEVELS),
        help="adaptive TARGET_PERCENTILE levels for the verdict ('' for none)",
    )
    args = p.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    # Either spelling (step or step-scaling): the tables and the verdict use the short one.
    policies = tuple(runner.policy_name(x) for x in args.policies.split(",") if x)
    levels = tuple(float(x) for x in args.levels.split(",") if x and float(x) != DEFAULT_LEVEL)
    jobs = [(f, s, args.days, policies, levels) for f in families for s in range(args.seeds)]
    started = time.perf_counter()
    if args.workers > 1:
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(run_job, jobs, chunksize=1)
    else:
        results = [run_job(j) for j in jobs]
    wall = time.perf_counter() - started
    by: dict[tuple[str, str], list[Metrics]] = defaultdict(list)
    cpu: dict[str, float] = defaultdict(float)
    beats_per_run = results[0][2]
    for rows, spent, _ in results:
        for m in rows:
            by[(m.policy, m.trace)].append(m)
        for label, seconds in spent.items():
            cpu[label] += seconds
    names = ["oracle", "static", *policies]
    print(
        f"Policy bench: {len(families)} families x {args.seeds} seeds x {args.days:g} days, "
        f"peak {PEAK_RPS:g} rps, settings {BENCH_SETTINGS} (others default),\n"
        f"app model {runner.AppModel()}"
    )
    print(
        f"Target: {100 - 100 * runner.DEFAULT_SLO_SHARE:g} % of requests under MAX_RESPONSE_TIME_IN_MS "
        "(1000 ms); means over seeds (react: median)\n"
    )
    for family in families:
        print(f"## {family}")
        print(
            metrics_table(
                [summarise(by[(n, family)], n, family) for n in names if by.get((n, family))]
            )
        )
        print()
    baselines = [b for b in runner.BASELINES if b in policies]
    if levels and baselines:
        text, losses = verdict(by, families, baselines, levels)
        print(
            "## Verdict: the cheapest adaptive TARGET_PERCENTILE level at or below each baseline's slow share"
        )
        print(text)
        print()
        print("Where adaptive loses: " + ("; ".join(losses) if losses else "nowhere in this run"))
        print()
        print("## Adaptive levels (mean over families and seeds)")
        shown = [level_label(x) for x in sorted({*levels, DEFAULT_LEVEL}, reverse=True)]
        print(
            render(
                [
                    (
                        name,
                        f"{statistics.mean(m.vs_oracle for f in families for m in by[(name, f)]):.3f}",
                        f"{statistics.mean(m.slow_pct for f in families for m in by[(name, f)]):.2f}",
                    )
                    for name in shown
                    if by.get((name, families[0]))
                ],
                ("level", "x oracle", "slow %"),
            )
        )
        print()
    runs = len(jobs) * (len(policies) + len(levels))
    beats = runs * beats_per_run
    per_policy = ", ".join(
        f"{name} {cpu[name] / (len(jobs) * beats_per_run) * 1e6:.1f}" for name in policies
    )
    print(
        f"{runs} engine runs, {beats:,} beats in {wall:.1f} s wall on {args.workers} workers "
        f"({os.cpu_count()} cpus); {sum(cpu.values()) / beats * 1e6:.1f} us CPU per beat"
    )
    print(f"us per beat (engine + policy + app model): {per_policy}")
    print(
        f"Engine alone: {engine_tick_us():.1f} us per tick (Engine.tick with constant in-memory backends)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``autoscalebot simulate``: what the bot would have done with your settings and your load.

    autoscalebot simulate --settings autoscale_settings --trace diurnal --days 7
    autoscalebot simulate --config bot.toml --trace traffic.csv --compare
    autoscalebot simulate --set MAX_DYNOS=8 --trace router.log --compare

The real engine runs your decision backend against a simulated app (dynos
as M/M/k queues with a boot delay) driven by the trace, on a fake clock: a
week takes about a second. It prints the cost and the share of slow
requests next to the oracle (the cheapest schedule that meets the target at
every moment) and the static peak count, and a chart of load, dynos and
latency over time. ``--compare`` adds every built-in policy, side by side.

Bad input prints one line naming the option and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

from autoscalebot.backends.policies.profile import AppProfile
from autoscalebot.backends.policies.queueing import utilisation_for_share
from autoscalebot.config import ConfigError, Settings, load_settings, parse_overrides
from autoscalebot.config.settings import short_names_fix
from autoscalebot.sim import chart, frontier, runner, traces
from autoscalebot.sim.model import AppModel
from autoscalebot.sim.table import metrics_table, render

USAGE_ERROR = 2
PROG = "autoscalebot simulate"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="What the bot would have done with your settings and your load, next to the "
        "oracle, the static peak and (with --compare) every built-in policy.",
        epilog="examples:\n"
        + "\n".join(line for line in __doc__.splitlines() if line.startswith("    autoscalebot")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("settings (as for autoscalebot itself)")
    src.add_argument(
        "--settings", metavar="MODULE", help="Python settings module with the seed's names"
    )
    src.add_argument("--config", metavar="PATH", type=Path, help="TOML settings file")
    src.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one setting (repeatable)",
    )
    src.add_argument(
        "--policy",
        metavar="NAME",
        help="decision backend to simulate instead of DECISION_BACKEND: "
        + ", ".join(runner.spellings(name) for name in runner.POLICIES)
        + ", or a dotted path",
    )
    tr = p.add_argument_group("load")
    tr.add_argument(
        "--trace",
        default="diurnal",
        metavar="FAMILY|FILE",
        help=f"a generated family ({', '.join(traces.FAMILIES)}), a CSV file of "
        "'timestamp, requests_per_second', a Heroku router log, or 'history': the load the bot "
        "itself recorded (default: diurnal)",
    )
    tr.add_argument(
        "--history",
        metavar="PATH",
        type=Path,
        help="the history file for --trace history (default: the bot's, in the user data folder)",
    )
    tr.add_argument(
        "--days", type=float, help="days to simulate (default 7; a file plays at most this long)"
    )
    tr.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for the generated trace and the app's randomness (default 0)",
    )
    tr.add_argument(
        "--peak-rps",
        type=float,
        help="busiest step of the load: a generated trace is made with it, a file is scaled to it "
        "(default: a family at 70%% of what MAX_DYNOS can serve; a file as recorded)",
    )
    app = p.add_argument_group(
        "the simulated app (default: APP_* settings, else a router log's service times, else 100 ms, 2, 45 s)"
    )
    app.add_argument("--service-ms", type=float, help="mean service time of one request")
    app.add_argument(
        "--concurrency", type=int, help="requests one dyno serves at once (WEB_CONCURRENCY)"
    )
    app.add_argument("--boot-seconds", type=float, help="from a scale call until a new dyno serves")
    app.add_argument(
        "--figures",
        action="store_true",
        help="beats also carry the app middleware's request figures (as MEASUREMENT_BACKEND "
        "'requests' reads them); on by default when that is the measurement backend",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--compare", action="store_true", help="also run every built-in policy, side by side"
    )
    out.add_argument(
        "--frontier",
        action="store_true",
        help="run every built-in policy over its own knob and chart cost against slow share",
    )
    out.add_argument("--width", type=int, help="chart width in columns (default: the terminal's)")
    out.add_argument("--no-chart", action="store_true", help="print the table only")
    return p


def _fail(option: str, problem: str) -> int:
    print(f"{PROG}: error: {option}: {problem}", file=sys.stderr)
    return USAGE_ERROR


def _check(args: argparse.Namespace) -> tuple[str, str] | None:
    """The first bad numeric option, as (option, problem)."""
    checks = [
        (
            "--days",
            args.days,
            lambda v: 0 < v <= 366,
            "give a number of days above 0 and at most 366",
        ),
        ("--peak-rps", args.peak_rps, lambda v: 0 < v <= 1e6, "give requests per second above 0"),
        ("--service-ms", args.service_ms, lambda v: 0 < v <= 600_000, "give milliseconds above 0"),
        (
            "--concurrency",
            args.concurrency,
            lambda v: 1 <= v <= 1000,
            "give a whole number from 1 to 1000",
        ),
        (
            "--boot-seconds",
            args.boot_seconds,
            lambda v: 0 <= v <= 86_400,
            "give seconds from 0 to 86400",
        ),
        ("--width", args.width, lambda v: 40 <= v <= 1000, "give a width from 40 to 1000 columns"),
    ]
    for option, value, ok, fix in checks:
        if value is not None and not ok(value):
            return option, f"{value:g} is out of range; {fix}"
    return None


def _settings(args: argparse.Namespace) -> Settings:
    overrides = parse_overrides(args.overrides)
    settings = load_settings(
        settings_module=args.settings,
        config_path=args.config,
        env=dict(os.environ),
        overrides=overrides,
        require_platform=False,
    )
    if args.policy:
        path = runner.policy_path(args.policy)
        if "." not in path:  # neither a short name nor a dotted path: a typo
            raise ConfigError(
                "--policy",
                f"{args.policy!r} is not a policy",
                short_names_fix(args.policy, [*runner.POLICIES, *runner.SHORT_NAMES]),
            )
        settings = dataclasses.replace(settings, decision_backend=path)
    return settings


def _given(settings: Settings, name: str) -> bool:
    """True when ``name`` was set by the user rather than left at its default."""
    return settings.origins.get(name, "default") != "default"


def _model(args: argparse.Namespace, settings: Settings, trace: traces.Trace | None) -> AppModel:
    base = AppModel()
    service = args.service_ms or (
        settings.app_service_time_in_ms
        if _given(settings, "APP_SERVICE_TIME_IN_MS")
        else (trace.service_ms if trace and trace.service_ms else base.service_ms)
    )
    concurrency = args.concurrency or (
        settings.app_concurrency if _given(settings, "APP_CONCURRENCY") else base.concurrency
    )
    boot = (
        args.boot_seconds
        if args.boot_seconds is not None
        else settings.app_boot_seconds
        if _given(settings, "APP_BOOT_SECONDS")
        else base.boot_seconds
    )
    return AppModel(service_ms=service, concurrency=concurrency, boot_seconds=boot)


def _with_app(settings: Settings, model: AppModel) -> Settings:
    """Policies assume the simulated app unless the settings describe it themselves."""
    return dataclasses.replace(
        settings,
        app_service_time_in_ms=settings.app_service_time_in_ms
        if _given(settings, "APP_SERVICE_TIME_IN_MS")
        else model.service_ms,
        app_concurrency=settings.app_concurrency
        if _given(settings, "APP_CONCURRENCY")
        else model.concurrency,
        app_boot_seconds=settings.app_boot_seconds
        if _given(settings, "APP_BOOT_SECONDS")
        else model.boot_seconds,
    )


def _auto_peak(settings: Settings, model: AppModel) -> float:
    """70 % of what MAX_DYNOS (its largest value) serves at the latency target."""
    app = AppProfile.from_settings(settings)
    rho = utilisation_for_share(model.concurrency, app.target_ms / model.service_ms, app.slow_share)
    top = max(v for _, v in settings.max_dynos.entries)
    return max(1.0, 0.7 * top * rho * model.capacity_rps(1))


HISTORY = "history"


def _history_trace(args: argparse.Namespace, settings: Settings) -> traces.Trace:
    """The load the bot's own history points to, read through its APP_* settings."""
    from autoscalebot import history

    path = args.history or history.default_path()
    if not path.is_file():
        raise traces.TraceError(
            f"no history at {path} (the bot records one while it runs; or give --history PATH)"
        )
    store = history.History(path)
    try:
        kept = store.formations()
        if len(kept) > 1:
            from autoscalebot.config.formations import formation_id

            mine = formation_id(settings)
            if mine not in kept:
                raise traces.TraceError(
                    f"{path} holds several formations ({', '.join(kept[:10])}): "
                    "name one with HEROKU_APP_NAME and PROCESS_TYPE (e.g. --set PROCESS_TYPE=worker)"
                )
            kept = [mine]
        beats = store.beats(kept[0] if kept else None)
    finally:
        store.close()
    if not beats:
        raise traces.TraceError(f"{path} holds no beats yet")
    start, rps = history.traffic_of(beats, settings)
    trace = traces.Trace(HISTORY, tuple(rps), 60.0, start, source=str(path))
    days = args.days or 366.0
    return trace.head(days * 86400.0) if trace.duration_s > days * 86400.0 else trace


def _label(path: str) -> str:
    name = runner.policy_name(path)
    return name if name in runner.POLICIES else path.rsplit(".", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    bad = _check(args)
    if bad:
        return _fail(*bad)
    try:
        settings = _settings(args)
        is_family = args.trace in traces.FAMILIES
        trace: traces.Trace | None
        if args.trace == HISTORY:
            trace = _history_trace(args, settings)
        else:
            trace = None if is_family else traces.load(args.trace, days=args.days or 366.0)
        if trace is not None and args.peak_rps:
            trace = traces.scaled(trace, args.peak_rps)
        model = _model(args, settings, trace)
        settings = _with_app(settings, model)
        AppProfile.from_settings(settings)  # a bad APP_* or TARGET_PERCENTILE fails here, named
        if trace is None:
            window = (
                settings.number_of_fails_to_scale_up_after
                + settings.number_of_passes_to_scale_down_after
            ) * settings.heartbeat_interval_in_seconds
            trace = traces.generate(
                args.trace,
                days=args.days or 7.0,
                seed=args.seed,
                peak_rps=args.peak_rps or _auto_peak(settings, model),
                window_s=window,
            )
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except traces.TraceError as exc:
        return _fail("--trace", str(exc))
    share = AppProfile.from_settings(settings).slow_share
    sc = runner.prepare(trace, settings, model=model, slo_share=share, seed=args.seed)
    keep = not args.no_chart
    figures = args.figures or settings.measurement_backend.endswith(".RequestFiguresProbe")
    try:
        best, static = runner.run_bounds(sc, keep=keep)
        hours = best.metrics.dyno_hours
        yours = _label(settings.decision_backend) + "*"
        results = [
            (
                yours,
                runner.run_policy(
                    sc,
                    settings.decision_backend,
                    label=yours,
                    oracle_hours=hours,
                    keep=keep,
                    figures=figures,
                ),
            )
        ]
        if args.compare:
            for name, path in runner.POLICIES.items():
                if path != settings.decision_backend:
                    results.append(
                        (
                            name,
                            runner.run_policy(
                                sc, path, label=name, oracle_hours=hours, keep=keep, figures=figures
                            ),
                        )
                    )
    except ConfigError as exc:  # a decision backend that cannot be built, or a bad setting it reads
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    print(_header(args, trace, model, sc))
    if sc.short is not None:
        print(_shortfall(sc, settings))
    print()
    if args.frontier:
        print(_frontier(sc, hours, args.width))
        print()
    print(metrics_table([best.metrics, static.metrics, *(r.metrics for _, r in results)]))
    print()
    print(
        "dyno-h: dyno-hours billed (booting included); x oracle: over the cheapest schedule that meets the"
    )
    print(
        f"target at every moment; slow %: requests over {sc.target_ms:g} ms; flaps: direction changes within"
    )
    print(
        "10 min; react: median time from a load step until enough dynos serve (what queued meanwhile"
    )
    print("drains after, and counts in slow %). * your DECISION_BACKEND.")
    if keep:
        width = args.width or min(160, shutil.get_terminal_size((100, 24)).columns)
        runs = [("oracle", best.series), *((name, r.series) for name, r in results)]
        print()
        print(
            chart.render(
                [(n, s) for n, s in runs if s is not None],
                start=trace.start,
                duration_s=trace.duration_s,
                target_ms=sc.target_ms,
                timeout_ms=settings.heartbeat_timeout * 1000.0,
                width=width,
            )
        )
    return 0


def _frontier(sc: runner.Scenario, oracle_hours: float, width: int | None) -> str:
    """Every built-in policy at every setting of its knob, judged by this run's target."""
    points: dict[str, list[frontier.Point]] = {}
    for name in runner.POLICIES:
        for (knob, _), (label, tuned) in zip(
            frontier.KNOBS.get(name, (("", {}),)),
            frontier.settings_grid(name, sc.settings),
            strict=True,
        ):
            m = runner.run_policy(
                sc, name, label=label, oracle_hours=oracle_hours, settings=tuned
            ).metrics
            points.setdefault(name, []).append(
                frontier.Point(knob or "default", m.slow_pct, m.vs_oracle)
            )
    cols = width or min(120, shutil.get_terminal_size((100, 24)).columns)
    lines = [
        f"Frontiers: every policy over its own knob, each run judged by {sc.target_ms:g} ms for "
        f"{100 * (1 - sc.slo_share):g} % of requests",
        chart.frontier_chart(
            {n: [(p.slow_pct, p.cost) for p in pts] for n, pts in points.items()}, width=cols
        ),
    ]
    best = "adaptive"
    rows = []
    for base in runner.BASELINES:
        if base in points and best in points:
            worst, mid, top, where = frontier.summary(
                frontier.compare(points[best], points[base], base)
            )
            rows.append((base, worst, mid, top, where))
    if rows:
        lines.append("")
        lines.append(
            render(rows, ("adaptive vs", "worst", "median", "best", "where adaptive loses"))
        )
    return "\n".join(lines)


def _shortfall(sc: runner.Scenario, settings: Settings) -> str:
    """Said up front: where MAX_DYNOS cannot carry the trace, so no policy can meet the target."""
    short = sc.short
    assert short is not None
    spans = ", ".join(short.spans(sc.trace.start, runner.sim_tz(sc.settings)))
    worst = f"{short.worst}" if short.worst <= 4 * short.limit else f"over {4 * short.limit}"
    return (
        f"MAX_DYNOS cannot carry this load: for {short.hours:.1f} h ({spans}) the target needs more "
        f"than MAX_DYNOS {short.limit} (up to {worst} dynos). Every run, the oracle's too, is slow "
        f"there; the oracle is marked infeasible. Raise MAX_DYNOS or lower --peak-rps."
    )


def _header(
    args: argparse.Namespace, trace: traces.Trace, model: AppModel, sc: runner.Scenario
) -> str:
    s = sc.settings
    days = trace.duration_s / 86400.0
    source = (
        trace.source
        if trace.source != "generated"
        else f"generated '{trace.name}', seed {args.seed}"
    )
    return "\n".join(
        [
            f"{days:.2f} days of load ({source}): peak {trace.peak:.0f} rps, mean {sum(trace.rps) / len(trace.rps):.0f} rps",
            f"App: {model.concurrency} workers per dyno, {model.service_ms:g} ms mean service, {model.boot_seconds:g} s boot, "
            f"30 s router timeout. One dyno serves {model.capacity_rps(1):.0f} rps flat out.",
            f"Bot: beat every {s.heartbeat_interval_in_seconds:g} s, fail over {s.max_response_time_in_ms:g} ms, pass under "
            f"{s.min_response_time_in_ms:g} ms, {s.number_of_fails_to_scale_up_after} fails up / "
            f"{s.number_of_passes_to_scale_down_after} passes down, MIN_DYNOS {s.min_dynos}, MAX_DYNOS {s.max_dynos}, "
            f"INCREMENT {s.increment}, COOL_OFF {s.cool_off_in_seconds:g} s.",
            f"Target: {100 * (1 - sc.slo_share):g} % of requests under {sc.target_ms:g} ms (TARGET_PERCENTILE).",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

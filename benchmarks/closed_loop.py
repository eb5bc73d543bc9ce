"""Closed-loop figures: real gunicorn, a Poisson surge, the real bot with the gunicorn scaler.

    python benchmarks/closed_loop.py [--runs N] [--surge-rps R] [--service-ms MS]

Prints one table row per run (and a median row when N > 1): how long from
the surge to the first added worker and to enough workers, the peak, how
latency looked while overloaded and once settled, and how long after the
load stopped the workers were back at the minimum. The scenario is the one
the closed-loop test asserts on (``tests/closed_loop/harness.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.closed_loop.harness import Scenario, run_closed_loop  # noqa: E402

COLUMNS = (
    ("run", "{}"),
    ("first +worker s", "{:.2f}"),
    ("enough workers s", "{:.2f}"),
    ("peak", "{}"),
    ("ups", "{}"),
    ("calm p50 ms", "{:.0f}"),
    ("overloaded p50/p95 ms", "{}"),
    ("settled p50/p95 ms", "{}"),
    ("load end -> min s", "{:.2f}"),
    ("final", "{}"),
)


def _pair(summary: dict[str, float] | None) -> str:
    return "-" if summary is None else f"{summary['p50']:.0f}/{summary['p95']:.0f}"


def row(name: str, f: dict[str, Any]) -> list[str]:
    values = [
        name,
        f["surge_to_first_worker_s"],
        f["surge_to_enough_workers_s"],
        f["peak_workers"],
        f["scale_ups"],
        None if f["calm"] is None else f["calm"]["p50"],
        _pair(f["overloaded"]),
        _pair(f["settled"]),
        f["load_end_to_min_s"],
        f["final_workers"],
    ]
    return [
        "-" if v is None else fmt.format(v) for v, (_, fmt) in zip(values, COLUMNS, strict=True)
    ]


def median_row(all_figures: list[dict[str, Any]]) -> list[str]:
    def med(key: str, sub: str | None = None) -> float | None:
        values = [f[key] if sub is None else (f[key] or {}).get(sub) for f in all_figures]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    merged = {
        "surge_to_first_worker_s": med("surge_to_first_worker_s"),
        "surge_to_enough_workers_s": med("surge_to_enough_workers_s"),
        "peak_workers": med("peak_workers"),
        "scale_ups": med("scale_ups"),
        "calm": {"p50": med("calm", "p50")},
        "overloaded": {"p50": med("overloaded", "p50"), "p95": med("overloaded", "p95")},
        "settled": {"p50": med("settled", "p50"), "p95": med("settled", "p95")},
        "load_end_to_min_s": med("load_end_to_min_s"),
        "final_workers": med("final_workers"),
    }
    return row("median", merged)


def print_table(rows: list[list[str]]) -> None:
    headers = [name for name, _ in COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--surge-rps", type=float, default=Scenario.surge_rps)
    parser.add_argument("--service-ms", type=float, default=Scenario.service_ms)
    args = parser.parse_args(argv)
    scenario = dataclasses.replace(Scenario(), surge_rps=args.surge_rps, service_ms=args.service_ms)
    sc = scenario
    print(
        f"scenario: {sc.service_ms:g} ms a request; calm {sc.calm_rps:g} rps for "
        f"{sc.calm_seconds:g} s, surge {sc.surge_rps:g} rps (Poisson) for {sc.surge_seconds:g} s; "
        f"beat every {sc.interval:g} s, fail > {sc.max_ms:g} ms x{sc.fails}, "
        f"pass < {sc.min_ms:g} ms x{sc.passes}, workers {sc.min_workers}-{sc.max_workers}\n"
    )
    rows, figures = [], []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="autoscalebot-closed-loop-") as tmp:
            f = run_closed_loop(Path(tmp), scenario).figures()
        figures.append(f)
        rows.append(row(str(i + 1), f))
    if args.runs > 1:
        rows.append(median_row(figures))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

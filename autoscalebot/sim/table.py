"""Plain-text tables of metrics, for the CLI and the bench."""

from __future__ import annotations

import math
from collections.abc import Sequence

from autoscalebot.sim.metrics import Metrics

HEADERS = ("policy", "dyno-h", "x oracle", "slow %", "timeout %", "scales", "flaps", "react")


def _react(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f}s" if seconds < 600 else f"{seconds / 60:.0f}m"


def _pct(value: float) -> str:
    if value == 0 or value < 0.0005:
        return "0"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def row(m: Metrics) -> tuple[str, ...]:
    ratio = "-" if math.isnan(m.vs_oracle) else f"{m.vs_oracle:.3f}"
    return (
        m.policy,
        f"{m.dyno_hours:.1f}",
        ratio,
        _pct(m.slow_pct),
        _pct(m.timeout_pct),
        str(m.scales),
        str(m.reversals),
        _react(m.reaction_s),
    )


def render(rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS) -> str:
    """Columns padded to fit: text left, numbers right."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            out.append(str(cell).ljust(width) if i == 0 else str(cell).rjust(width))
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def metrics_table(metrics: Sequence[Metrics]) -> str:
    return render([row(m) for m in metrics])

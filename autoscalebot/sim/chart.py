"""Terminal charts of a simulated run: load, dynos and latency on one time axis.

Plain text with Unicode block characters, so it works in any terminal, log
file or CI output. Each column is an equal slice of the trace; bars are
drawn in eighths of a character cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from autoscalebot.sim.runner import Series

BLOCKS = " ▁▂▃▄▅▆▇█"
LABEL = 14  # width of the row labels


def _columns(values: Sequence[float | None], width: int) -> list[float | None]:
    """``values`` cut into ``width`` equal slices, each averaged (None where a slice is empty)."""
    n = len(values)
    out: list[float | None] = []
    for c in range(width):
        part = [
            v
            for v in values[c * n // width : max(c * n // width + 1, (c + 1) * n // width)]
            if v is not None
        ]
        out.append(sum(part) / len(part) if part else None)
    return out


def bars(values: Sequence[float | None], top: float, height: int) -> list[str]:
    """A bar chart ``height`` rows tall, scaled so ``top`` fills it; top row first."""
    rows = []
    for r in range(height - 1, -1, -1):
        line = []
        for v in values:
            if v is None or top <= 0:
                line.append(" ")
                continue
            eighths = round(max(0.0, min(1.0, v / top)) * height * 8)
            fill = eighths - r * 8
            line.append(BLOCKS[max(0, min(8, fill))])
        rows.append("".join(line))
    return rows


def slow_strip(latency_ms: Sequence[float | None], width: int, target_ms: float) -> str:
    """One row: the share of heartbeats over ``target_ms`` per column (blank: none; full: half or more)."""
    n = len(latency_ms)
    out = []
    for c in range(width):
        part = latency_ms[c * n // width : max(c * n // width + 1, (c + 1) * n // width)]
        if not part:
            out.append(" ")
            continue
        slow = sum(1 for v in part if v is None or v > target_ms) / len(part)
        out.append(" " if slow == 0 else BLOCKS[max(1, min(8, round(slow * 16)))])
    return "".join(out)


def time_axis(start: datetime, duration_s: float, width: int) -> str:
    """Day names (or hours, for short traces) under the columns where they begin."""
    line = [" "] * width
    if duration_s <= 0:
        return ""
    step = 86400.0 if duration_s > 2 * 86400.0 else 3600.0 * max(1, round(duration_s / 3600.0 / 8))
    t = (math.floor(start.timestamp() / step) + 1) * step - start.timestamp()
    while t < duration_s:
        col = int(t / duration_s * width)
        moment = start + timedelta(seconds=t)
        text = moment.strftime("%a") if step >= 86400.0 else moment.strftime("%H:%M")
        if col + len(text) <= width and all(c == " " for c in line[col : col + len(text) + 1]):
            line[col : col + len(text)] = list(text)
        t += step
    return "".join(line).rstrip()


def render(
    runs: Sequence[tuple[str, Series]],
    *,
    start: datetime,
    duration_s: float,
    target_ms: float,
    timeout_ms: float,
    width: int = 100,
    height: int = 5,
) -> str:
    """Load once, then per run: dynos billed (bars) and heartbeat latency (a strip).

    All dyno charts share one scale, so runs can be compared by eye.
    """
    cols = max(10, width - LABEL)
    first = runs[0][1]
    load = _columns(first.rps, cols)
    peak = max((v for v in load if v is not None), default=0.0)
    top = max((max(s.count) for _, s in runs if s.count), default=1)
    pad = " " * LABEL
    lines = [f"{'load':<{LABEL}}peak {peak:.0f} rps per column (mean)"]
    lines += [pad + row for row in bars(load, peak, height)]
    for name, series in runs:
        dynos = _columns(series.count, cols)
        lines.append(f"{name[: LABEL - 1]:<{LABEL}}dynos billed, scale 0-{top}")
        lines += [pad + row for row in bars(dynos, float(top), height)]
        lines.append(f"{'  slow beats':<{LABEL}}{slow_strip(series.latency_ms, cols, target_ms)}")
    lines.append(pad + time_axis(start, duration_s, cols))
    lines.append(
        f"{'':<{LABEL}}slow beats: share of heartbeats over {target_ms:g} ms or timed out "
        f"({timeout_ms:g} ms) per column; ▁ a few, █ half or more"
    )
    return "\n".join(lines)


MARKS = {"streak": "s", "hpa": "h", "step": "t", "judoscale": "j", "heroku": "k", "adaptive": "A"}


def frontier_chart(
    points: dict[str, list[tuple[float, float]]], *, width: int = 72, height: int = 16
) -> str:
    """Every (slow %, x oracle) point of every policy on one plot; x is log slow share.

    Each policy has a letter (``MARKS``; the first letter of other names); where
    two land in one cell the later policy's letter shows.
    """
    cols = max(20, width - 8)
    xs = [math.log10(max(s, 1e-3)) for pts in points.values() for s, _ in pts]
    ys = [c for pts in points.values() for _, c in pts]
    if not xs:
        return "(no points)"
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
    if x1 <= x0:
        x1 = x0 + 1
    y0, y1 = min(1.0, min(ys)), max(ys)
    if y1 <= y0:
        y1 = y0 + 1.0
    grid = [[" "] * cols for _ in range(height)]
    for name, pts in points.items():
        mark = MARKS.get(name, name[:1])
        for s, c in pts:
            x = math.log10(max(s, 1e-3))
            col = min(cols - 1, round((x - x0) / (x1 - x0) * (cols - 1)))
            row = min(height - 1, round((y1 - c) / (y1 - y0) * (height - 1)))
            grid[row][col] = mark
    lines = []
    for r, cells in enumerate(grid):
        value = y1 - r * (y1 - y0) / (height - 1)
        tick = f"{value:5.2f} |" if r % 3 == 0 or r == height - 1 else "      |"
        lines.append(tick + "".join(cells).rstrip())
    lines.append("      +" + "-" * cols)
    axis = [" "] * cols
    for e in range(x0, x1 + 1):
        col = min(cols - 1, round((e - x0) / (x1 - x0) * (cols - 1)))
        text = f"{10.0**e:g}%"
        start = max(0, min(cols - len(text), col - len(text) // 2))
        axis[start : start + len(text)] = list(text)
    lines.append("       " + "".join(axis).rstrip())
    legend = ", ".join(f"{MARKS.get(n, n[:1])} {n}" for n in points)
    lines.append(f"       x: slow requests (log); y: cost x oracle. {legend}")
    return "\n".join(lines)

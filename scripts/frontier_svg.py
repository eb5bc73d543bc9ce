"""Draw the policy bench's frontiers as one SVG: a panel per trace family.

    python benchmarks/policy_bench.py --json /tmp/frontiers.json
    python scripts/frontier_svg.py /tmp/frontiers.json docs/frontiers.svg

Each panel plots every setting of every policy's knob: x the share of
requests slower than the reference target (log scale), y the cost as a
multiple of the oracle's. A policy's frontier (its settings no other setting
of it beats on both) is a line; lower and further left is better. Plain SVG,
no plotting library, the same bytes for the same input.
"""

from __future__ import annotations

import json
import math
import sys
from html import escape
from pathlib import Path

from autoscalebot.sim.frontier import Point, pareto

COLOURS = {
    "streak": "#888888",
    "hpa": "#1f77b4",
    "step": "#9467bd",
    "judoscale": "#2ca02c",
    "heroku": "#ff7f0e",
    "adaptive": "#d62728",
}
PANEL_W, PANEL_H = 300, 210
LEFT, TOP, RIGHT, BOTTOM = 44, 24, 10, 30
X_MIN, X_MAX = -3.0, 2.0  # log10 of slow %: 0.001 % .. 100 %
Y_MAX_CAP = 6.0


def _x(slow: float) -> float:
    v = min(X_MAX, max(X_MIN, math.log10(max(slow, 10**X_MIN))))
    return LEFT + (v - X_MIN) / (X_MAX - X_MIN) * (PANEL_W - LEFT - RIGHT)


def _y(cost: float, top: float) -> float:
    v = min(top, max(1.0, cost))
    return TOP + (top - v) / (top - 1.0) * (PANEL_H - TOP - BOTTOM)


def panel(family: str, points: dict[str, list[Point]], best: str) -> list[str]:
    top = min(Y_MAX_CAP, max(2.0, max((p.cost for ps in points.values() for p in ps), default=2.0)))
    top = math.ceil(top * 2) / 2
    out = [
        f'<text x="{PANEL_W / 2:.0f}" y="15" text-anchor="middle" class="t">{escape(family)}</text>'
    ]
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{PANEL_W - LEFT - RIGHT}" height="{PANEL_H - TOP - BOTTOM}" class="box"/>'
    )
    for e in range(int(X_MIN), int(X_MAX) + 1):
        x = _x(10.0**e)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{PANEL_H - BOTTOM}" class="g"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{PANEL_H - BOTTOM + 12}" text-anchor="middle" class="a">{10.0**e:g}</text>'
        )
    y_ticks = [1.0 + i * 0.5 for i in range(int((top - 1.0) / 0.5) + 1)]
    every = max(1, len(y_ticks) // 6)
    for v in y_ticks[::every]:
        y = _y(v, top)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{PANEL_W - RIGHT}" y2="{y:.1f}" class="g"/>'
        )
        out.append(f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" class="a">{v:g}</text>')
    out.append(
        f'<text x="{(LEFT + PANEL_W - RIGHT) / 2:.0f}" y="{PANEL_H - 4}" text-anchor="middle" class="a">slow % (log)</text>'
    )
    out.append(
        f'<text x="10" y="{(TOP + PANEL_H - BOTTOM) / 2:.0f}" transform="rotate(-90 10 {(TOP + PANEL_H - BOTTOM) / 2:.0f})" text-anchor="middle" class="a">x oracle</text>'
    )
    # The best policy last, so it is drawn on top.
    for policy in sorted(points, key=lambda p: p == best):
        colour = COLOURS.get(policy, "#444444")
        width = 2.4 if policy == best else 1.3
        front = pareto(points[policy])
        path = " ".join(f"{_x(p.slow_pct):.1f},{_y(p.cost, top):.1f}" for p in front)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{width}"/>'
        )
        for p in points[policy]:
            out.append(
                f'<circle cx="{_x(p.slow_pct):.1f}" cy="{_y(p.cost, top):.1f}" r="2.4" fill="{colour}">'
                f"<title>{escape(policy)} {escape(p.knob)}: {p.slow_pct:.3g} % slow, {p.cost:.3f} x oracle</title></circle>"
            )
    return out


def render(data: dict) -> str:
    families = data["families"]
    best = data.get("best", "adaptive")
    cols = 3
    rows = math.ceil(len(families) / cols)
    legend_h = 28
    width, height = cols * PANEL_W, rows * PANEL_H + legend_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">',
        "<style>.t{font-size:13px;font-weight:bold}.a{font-size:9px;fill:#444}"
        ".box{fill:#fff;stroke:#999}.g{stroke:#e4e4e4}.l{font-size:11px}</style>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    x = 10
    policies = sorted(
        {p for f in families.values() for p in f},
        key=lambda p: list(COLOURS).index(p) if p in COLOURS else 99,
    )
    for policy in policies:
        colour = COLOURS.get(policy, "#444444")
        out.append(
            f'<line x1="{x}" y1="14" x2="{x + 18}" y2="14" stroke="{colour}" stroke-width="{2.4 if policy == best else 1.3}"/>'
        )
        out.append(f'<text x="{x + 22}" y="18" class="l">{escape(policy)}</text>')
        x += 40 + 7 * len(policy)
    out.append(
        f'<text x="{x + 10}" y="18" class="l">{data.get("seeds", "?")} seeds x {data.get("days", "?")} days per point; '
        "lower and further left is better</text>"
    )
    for i, (family, by_policy) in enumerate(families.items()):
        points = {pol: [Point(k, s, c) for k, s, c in pts] for pol, pts in by_policy.items()}
        gx, gy = (i % cols) * PANEL_W, legend_h + (i // cols) * PANEL_H
        out.append(f'<g transform="translate({gx},{gy})">')
        out += panel(family, points, best)
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: frontier_svg.py POINTS.json OUT.svg", file=sys.stderr)
        return 2
    data = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    Path(argv[1]).write_text(render(data), encoding="utf-8")
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

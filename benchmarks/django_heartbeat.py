"""How long the Django heartbeat view takes on the test site (SQLite, locmem cache, temp dir).

    python benchmarks/django_heartbeat.py [--calls 1000]

Two rows: through Django's test client (URL resolution and the test site's
full startproject middleware stack) and the view alone (RequestFactory).
Then the per-part medians from the ``Server-Timing`` header. Times are
wall-clock on this machine; compare rows across commits, not across machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

SITE = Path(__file__).resolve().parents[1] / "tests" / "django" / "project"


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, round(p / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def measure(call: Callable[[], object], calls: int) -> list[float]:
    """Milliseconds per call, sorted."""
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()

    sys.path.insert(0, str(SITE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
    import django

    django.setup()
    from django.test import Client, RequestFactory

    from autoscalebot.views import heartbeat

    client = Client()
    request = RequestFactory().get("/autoscalebot/heartbeat/")
    parts: dict[str, list[float]] = {}

    def through_client() -> None:
        response = client.get("/autoscalebot/heartbeat/")
        assert response.status_code == 200, response.content
        for item in response["Server-Timing"].split(","):
            name, _, dur = item.strip().partition(";dur=")
            parts.setdefault(name, []).append(float(dur))

    def view_alone() -> None:
        assert heartbeat(request).status_code == 200

    for _ in range(50):  # warm-up (imports, first connection), not counted
        through_client()
        view_alone()
    parts.clear()
    rows = [
        ("test client", measure(through_client, args.calls)),
        ("view alone", measure(view_alone, args.calls)),
    ]
    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}, {args.calls} calls each"
    )
    print(f"{'path':<12} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, ms in rows:
        print(
            f"{name:<12} {statistics.median(ms):>10.3f} {percentile(ms, 95):>8.3f} "
            f"{percentile(ms, 99):>8.3f} {ms[-1]:>8.3f}"
        )
    print(f"{'part':<12} {'median ms':>10} {'p95 ms':>8}   (Server-Timing, test client calls)")
    for name, values in parts.items():
        values.sort()
        print(f"{name:<12} {statistics.median(values):>10.3f} {percentile(values, 95):>8.3f}")


if __name__ == "__main__":
    main()

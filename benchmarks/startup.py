"""Start-up time to the first beat, and the memory of a headless run.

    python benchmarks/startup.py [--runs 5]

Starts the real CLI against the Heroku emulator and a loopback heartbeat,
measures wall time from spawn to the first ``event=beat`` line, and RSS,
threads and fds after 10 s of 10 beats/s. Prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import APP, KEY, proc_stats, start_cli  # noqa: E402

from autoscalebot.emulator.heartbeat import HeartbeatServer  # noqa: E402
from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402


def one_run(settle: float) -> tuple[float, dict[str, float]]:
    with HerokuEmulator(api_key=KEY) as heroku, HeartbeatServer(latency=0.01) as beat:
        heroku.add_app(APP, formation={"web": 1})
        t0 = time.monotonic()
        proc, lines = start_cli(
            heroku.url, beat.heartbeat_url, "--interval", "0.1", "--duration", str(settle + 15)
        )
        try:
            deadline = t0 + 15
            while time.monotonic() < deadline and not any(
                " event=beat " in line for _, line in lines
            ):
                time.sleep(0.005)
            first = next(t for t, line in lines if " event=beat " in line) - t0
            time.sleep(settle)
            stats = proc_stats(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    return first, stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=10.0)
    args = parser.parse_args()
    firsts, rss, threads, fds = [], [], [], []
    for _ in range(args.runs):
        first, stats = one_run(args.settle)
        firsts.append(first * 1000)
        rss.append(stats["rss_mib"])
        threads.append(stats["threads"])
        fds.append(stats["fds"])
    print(f"headless start-up ({args.runs} runs; memory after {args.settle:g} s at 10 beats/s)")
    print(f"{'metric':<28}{'median':>10}{'min':>10}{'max':>10}")
    for name, values in [
        ("spawn → first beat (ms)", firsts),
        ("RSS (MiB)", rss),
        ("threads", threads),
        ("open fds", fds),
    ]:
        print(
            f"{name:<28}{statistics.median(values):>10.1f}{min(values):>10.1f}{max(values):>10.1f}"
        )


if __name__ == "__main__":
    main()

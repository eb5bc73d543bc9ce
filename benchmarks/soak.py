"""Soak: a headless run at 20 beats/s against the emulator, watching for leaks.

    python benchmarks/soak.py [--minutes 10] [--every 30]

The heartbeat alternates between slow and fast phases so the bot keeps
scaling up and down (real PATCHes to the emulator). Samples RSS, threads and
open fds of the bot's process; prints a table and the drift first → last.
Bounded: it stops by itself after --minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import APP, KEY, proc_stats, start_cli  # noqa: E402

from autoscalebot.emulator.heartbeat import HeartbeatServer  # noqa: E402
from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=30.0)
    args = parser.parse_args()
    duration = args.minutes * 60
    with (
        HerokuEmulator(api_key=KEY, rate_limit=10**9) as heroku,
        HeartbeatServer(latency=0.0) as beat,
    ):
        heroku.add_app(APP, formation={"web": 1})
        proc, lines = start_cli(
            heroku.url,
            beat.heartbeat_url,
            "--interval",
            "0.05",
            "--set",
            "MAX_RESPONSE_TIME_IN_MS=20",
            "--set",
            "MIN_RESPONSE_TIME_IN_MS=5",
            "--set",
            "MAX_DYNOS=5",
            "--set",
            "NOTIFY_ON_EVERY_SCALE=true",
            "--set",
            "NOTIFICATION_BACKENDS=logger",
            "--duration",
            str(duration + 5),
        )
        rows = []
        start = time.monotonic()
        try:
            next_sample = start + 5
            while time.monotonic() - start < duration:
                # 20 s slow, 20 s fast: the bot climbs to MAX and back to MIN.
                phase_slow = int((time.monotonic() - start) // 20) % 2 == 0
                beat.set(latency=0.03 if phase_slow else 0.0)
                if time.monotonic() >= next_sample:
                    stats = proc_stats(proc.pid)
                    beats = sum(1 for _, line in lines if " event=beat " in line)
                    scales = sum(1 for _, line in lines if " event=scale " in line)
                    rows.append((time.monotonic() - start, stats, beats, scales))
                    next_sample += args.every
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(10)
        patches = len(heroku.patches())
    print(
        f"soak: {args.minutes:g} min at 20 beats/s (interval 0.05 s), {patches} PATCHes to the emulator"
    )
    print(f"{'t (s)':>8}{'beats':>9}{'scales':>8}{'RSS MiB':>10}{'threads':>9}{'fds':>6}")
    for t, stats, beats, scales in rows:
        print(
            f"{t:>8.0f}{beats:>9}{scales:>8}{stats['rss_mib']:>10.1f}{stats['threads']:>9}{stats['fds']:>6}"
        )
    if len(rows) >= 2:
        first, last = rows[0][1], rows[-1][1]
        print(
            f"drift first→last: RSS {last['rss_mib'] - first['rss_mib']:+.1f} MiB, "
            f"threads {last['threads'] - first['threads']:+d}, fds {last['fds'] - first['fds']:+d}; "
            f"beat rate {rows[-1][2] / rows[-1][0]:.1f}/s"
        )


if __name__ == "__main__":
    main()

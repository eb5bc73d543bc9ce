"""One bot over N formations: CPU per beat, memory, beat lateness, API use.

For each N, a real ``autoscalebot --headless`` (a subprocess) scales N
formations (process types spread over apps, ``--apps``) on the Heroku
emulator, each timing a heartbeat on one of four loopback heartbeat servers.
Beats are compressed in time (``--compress 10``: 3 s beats stand for 30 s
ones), so a short run shows what an hour does; CPU is then scaled back to
real 30 s beats. Bounded: ``--seconds`` per row, then SIGTERM.

    python benchmarks/formations.py --formations 10,100,1000 [--seconds 30] [--compress 10]

Columns: CPU per beat (ms of the bot's user+system time per beat), the share
of one core at real 30 s beats, peak RSS, p50/p99 lateness of beats against
their schedule, API requests per hour per account (measured in real time:
the shared account paces count refreshes by the real clock, so they are not
compressed) against the 4,500/h the account allows, and SIGTERM to exit.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402

KEY = "bench-formations-key"
REAL_INTERVAL = 30.0
TICKS = os.sysconf("SC_CLK_TCK")


class HeartbeatProcess:
    """A heartbeat server in a process of its own (``autoscalebot emulate heartbeat``),
    so this script's own work never shows up as the bot's lateness."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autoscalebot.cli", "emulate", "heartbeat", "--path", "/hb"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        # "heartbeat server listening on http://127.0.0.1:PORT/hb"
        line = self.proc.stdout.readline()
        self.heartbeat_url = line.strip().rsplit(" ", 1)[-1]
        self.url = self.heartbeat_url.removesuffix("/hb")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def config(n: int, apps: int, servers: list[HeartbeatProcess], interval: float) -> str:
    lines = [
        f"heartbeat_interval_in_seconds = {interval}",
        # Refreshes at the real default (60 s), compressed like the beats.
        f"count_refresh_in_seconds = {60.0 * interval / REAL_INTERVAL}",
        "max_response_time_in_ms = 10000",  # steady state: a slow beat is no reason to scale
        "min_response_time_in_ms = 0.001",  # every beat ok: no scaling, steady state
    ]
    for i in range(n):
        app = f"app{i % apps}"
        lines += [
            "[[formations]]",
            f'heroku_app_name = "{app}"',
            f'process_type = "p{i}"',
            f'heartbeat_url = "{servers[i % len(servers)].heartbeat_url}"',
        ]
    return "\n".join(lines) + "\n"


def run(n: int, apps: int, seconds: float, compress: float) -> str:
    interval = REAL_INTERVAL / compress
    with tempfile.TemporaryDirectory() as tmp, HerokuEmulator(api_key=KEY) as heroku:
        servers = [HeartbeatProcess() for _ in range(4)]
        try:
            for a in range(min(apps, n)):
                types = {f"p{i}": 1 for i in range(a, n, apps)}
                heroku.add_app(f"app{a}", web_url=servers[0].url + "/", formation=types)
            path = Path(tmp) / "bot.toml"
            path.write_text(config(n, apps, servers, interval))
            runtime = Path(tmp) / "run"
            runtime.mkdir(mode=0o700)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HEROKU_API_KEY": KEY,
                "HEROKU_API_URL": heroku.url,
                "XDG_RUNTIME_DIR": str(runtime),
                "XDG_CONFIG_HOME": str(Path(tmp) / "xdg"),
                "XDG_DATA_HOME": str(Path(tmp) / "data"),  # its history: counted, not kept
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "autoscalebot.cli", "--config", str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            beats: dict[str, list[float]] = {}
            lock = threading.Lock()

            def read() -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if " event=beat " not in line:
                        continue
                    m = re.match(r"at=(\S+) event=beat formation=(\S+) latency_ms=(\S+)", line)
                    if m:
                        at = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
                        at -= float(m.group(3)) / 1000  # when the beat began: not the app's time
                        with lock:
                            beats.setdefault(m.group(2), []).append(at)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            # Warm-up: every formation started and beat once.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with lock:
                    if len(beats) >= n:
                        break
                time.sleep(0.2)
            warm = time.monotonic()
            cpu0, requests0 = cpu_seconds(proc.pid), len(heroku.requests)
            with lock:
                counted0 = sum(len(v) for v in beats.values())
            peak = 0.0
            while time.monotonic() - warm < seconds:
                peak = max(peak, rss_mb(proc.pid))
                time.sleep(0.5)
            cpu = cpu_seconds(proc.pid) - cpu0
            requests = len(heroku.requests) - requests0
            if os.environ.get("BENCH_DEBUG"):
                from collections import Counter

                kinds = Counter(
                    re.sub(r"app\d+", "APP", re.sub(r"/p\d+", "/TYPE", str(r)))[:60]
                    for r in heroku.requests[requests0:]
                )
                print(kinds.most_common(8), file=sys.stderr)
            with lock:
                counted = sum(len(v) for v in beats.values()) - counted0
                late = sorted(d for times in beats.values() for d in lateness(times, interval))
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            stop = time.monotonic() - sent
        finally:
            for server in servers:
                server.close()
    per_beat_ms = 1000 * cpu / max(counted, 1)
    core_share = 100 * (per_beat_ms / 1000) * n / REAL_INTERVAL
    elapsed = seconds
    # Real time: the account paces refreshes by the real clock, whatever the beats do.
    per_account = requests / elapsed * 3600  # one key: every app here is on one account
    p50 = late[len(late) // 2] if late else float("nan")
    p99 = late[int(len(late) * 0.99)] if late else float("nan")
    return (
        f"| {n} | {counted} | {per_beat_ms:.2f} | {core_share:.2f} % | {peak:.0f} MB | "
        f"{p50 * 1000:.0f} ms | {p99 * 1000:.0f} ms | {per_account:.0f} / 4500 | {stop:.2f} s |"
    )


def lateness(times: list[float], interval: float) -> list[float]:
    """How far each beat is behind its slot on the formation's grid (from its first beat)."""
    if len(times) < 2:
        return []
    first = times[0]
    return [max(0.0, (t - first) - round((t - first) / interval) * interval) for t in times[1:]]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--formations", default="10,100,1000")
    p.add_argument("--apps", type=int, default=20, help="apps the formations spread over")
    p.add_argument("--seconds", type=float, default=30.0, help="measured seconds per row")
    p.add_argument("--compress", type=float, default=10.0, help="30 s beats run this much faster")
    args = p.parse_args()
    print(
        "| formations | beats | CPU/beat | core at 30 s beats | peak RSS | p50 late | p99 late "
        "| API req/h per account | SIGTERM to exit |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.formations.split(",")):
        print(run(n, args.apps, args.seconds, args.compress), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

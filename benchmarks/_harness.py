"""Shared by the headless benchmarks: loopback servers and a CLI process to watch."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

APP = "bench-app"
KEY = "bench-key"


def start_cli(
    heroku_url: str, heartbeat_url: str, *args: str
) -> tuple[subprocess.Popen[str], list[tuple[float, str]]]:
    """Start ``autoscalebot --headless``; returns the process and its (time, line) list."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSCALE_", "HEROKU_"))}
    env |= {
        "HEROKU_API_KEY": KEY,
        "HEROKU_APP_NAME": APP,
        "HEROKU_API_URL": heroku_url,
        "XDG_CONFIG_HOME": "/nonexistent",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoscalebot.cli",
            "--headless",
            "--set",
            f"HEARTBEAT_URL={heartbeat_url}",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.monotonic(), line))

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


def proc_stats(pid: int) -> dict[str, float]:
    """RSS (MiB), threads and open file descriptors of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }

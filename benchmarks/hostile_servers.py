"""Hostile servers: peak memory and time to fail of every outbound call, and of the bot.

    python benchmarks/hostile_servers.py [--timeout 2] [--bomb-mib 1024] [--bot-seconds 6]

Each hostile server (autoscalebot/emulator/hostile.py) sends every byte well
inside a per-read timeout: headers one byte at a time, ``102 Processing``
for ever, an endless body, a gzip bomb of --bomb-mib MiB, a body one byte at
a time. Two tables:

1. each backend (heartbeat probe, Heroku, Kubernetes, webhook) makes one
   call in a fresh process: the time until the call ended, what it said, and
   the process's peak RSS (VmHWM);
2. the real headless bot (``autoscalebot --headless``) with its heartbeat
   URL, then its Heroku API URL, at each server for --bot-seconds: beats
   logged, the first beat's error, peak RSS.

The rule: every call ends by its deadline and no process passes 100 MB.
Bounded: each run is killed after at most a minute.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import APP, KEY, start_cli  # noqa: E402

from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402
from autoscalebot.emulator.hostile import MODES, HostileServer  # noqa: E402

LIMIT_MIB = 100.0

# One call of one backend, in a process of its own so its peak RSS is its own.
CHILD = r"""
import json, sys, tempfile, time
from autoscalebot.config import build_settings
target, url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
base = {"HEROKU_APP_NAME": "app", "HEROKU_API_KEY": "k-1234"}
if target == "probe":
    from autoscalebot.backends.probe import HeartbeatProbe
    s = build_settings(base | {"HEARTBEAT_URL": url + "/beat", "HEARTBEAT_TIMEOUT_IN_SECONDS": timeout})
    call = HeartbeatProbe(s).measure
elif target == "heroku":
    from autoscalebot.backends.heroku import HerokuScaler
    call = HerokuScaler(build_settings(base | {"HEROKU_API_URL": url}), deadline=timeout).current
elif target == "kubernetes":
    from autoscalebot.backends.kubernetes import KubernetesScaler
    token = tempfile.NamedTemporaryFile("w", suffix=".token", delete=False)
    token.write("t-1234"); token.close()
    s = build_settings(base | {"SCALING_BACKEND": "kubernetes", "KUBERNETES_API_URL": url,
        "KUBERNETES_NAMESPACE": "shop", "KUBERNETES_DEPLOYMENT": "web",
        "KUBERNETES_TOKEN_FILE": token.name, "HEARTBEAT_URL": "http://127.0.0.1:9/"})
    call = KubernetesScaler(s, deadline=timeout).current
else:
    from datetime import UTC, datetime
    from autoscalebot.backends.base import Notification
    from autoscalebot.backends.webhook import WebhookBackend
    s = build_settings(base | {"WEBHOOK_URL": url + "/hook", "WEBHOOK_TIMEOUT_IN_SECONDS": timeout})
    note = Notification("ping", "ping", "", datetime.now(UTC))
    call = lambda: WebhookBackend(s, wait=lambda _: None).send(note) or "delivered"
started = time.monotonic()
try:
    said = str(call())
except Exception as exc:
    said = str(exc)
took = time.monotonic() - started
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
print(json.dumps({"took": took, "said": said, "peak": int(status["VmHWM"].split()[0]) / 1024}))
"""


def one_call(target: str, url: str, timeout: float) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, target, url, str(timeout)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return {"took": 60.0, "said": "STILL RUNNING after 60 s (killed)", "peak": float("nan")}
    if done.returncode != 0:
        return {"took": float("nan"), "said": done.stderr.strip()[-80:], "peak": float("nan")}
    return json.loads(done.stdout)


def peak_of(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bot_run(heroku_url: str, heartbeat_url: str, timeout: float, seconds: float) -> dict:
    proc, lines = start_cli(
        heroku_url,
        heartbeat_url,
        "--interval",
        "0.5",
        "--set",
        f"HEARTBEAT_TIMEOUT_IN_SECONDS={timeout}",
        "--duration",
        str(seconds + 30),
    )
    peak = 0.0
    ends = time.monotonic() + seconds
    while time.monotonic() < ends and proc.poll() is None:
        peak = max(peak, peak_of(proc.pid))
        time.sleep(0.1)
    peak = max(peak, peak_of(proc.pid))
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    beats = [text for _, text in lines if "event=beat" in text]
    troubles = [text for _, text in lines if "event=trouble" in text]
    said = ""
    for line in beats[:1] + troubles[:1]:
        found = re.search(r'(?:error|reason)="((?:[^"\\]|\\.)*)"', line)
        if found:
            said = found.group(1)
            break
    return {"beats": len(beats), "said": said[:70], "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=2.0, help="deadline of each call (s)")
    parser.add_argument("--bomb-mib", type=int, default=1024, help="gzip bomb's inflated size")
    # Past the scalers' 10 s API deadline, so a hostile API shows its trouble.
    parser.add_argument("--bot-seconds", type=float, default=14.0)
    args = parser.parse_args()
    worst = 0.0
    print(f"One call per backend, deadline {args.timeout:g} s (peak RSS of the process)\n")
    print(f"{'backend':<11} {'server':<16} {'ended after':>11} {'peak RSS':>9}  said")
    for mode in MODES:
        with HostileServer(mode, bomb_mib=args.bomb_mib) as server:
            for target in ("probe", "heroku", "kubernetes", "webhook"):
                row = one_call(target, server.url, args.timeout)
                worst = max(worst, row["peak"]) if row["peak"] == row["peak"] else worst
                print(
                    f"{target:<11} {mode:<16} {row['took']:>9.2f} s {row['peak']:>6.1f} MB"
                    f"  {row['said'][:70]}"
                )
    print(f"\nThe headless bot for {args.bot_seconds:g} s, heartbeat timeout {args.timeout:g} s\n")
    print(f"{'hostile':<10} {'server':<16} {'beats':>5} {'peak RSS':>9}  first beat / trouble")
    with HerokuEmulator(api_key=KEY, rate_limit=10**9) as heroku:
        heroku.add_app(APP, formation={"web": 1})
        for mode in MODES:
            with HostileServer(mode, bomb_mib=args.bomb_mib) as server:
                for role in ("heartbeat", "heroku"):
                    beat_url = server.url + "/beat" if role == "heartbeat" else heroku.url + "/x"
                    api_url = heroku.url if role == "heartbeat" else server.url
                    row = bot_run(api_url, beat_url, args.timeout, args.bot_seconds)
                    worst = max(worst, row["peak"])
                    print(
                        f"{role:<10} {mode:<16} {row['beats']:>5} {row['peak']:>6.1f} MB"
                        f"  {row['said']}"
                    )
    verdict = "under" if worst < LIMIT_MIB else "OVER"
    print(f"\nworst peak RSS: {worst:.1f} MB ({verdict} the {LIMIT_MIB:g} MB limit)")


if __name__ == "__main__":
    main()

"""The headless bot's control channel, driven by ``autoscalebot ctl`` as a script would,
both real processes, against the Heroku emulator and a heartbeat server on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from tests.integration.conftest import APP, CLI

OK_MS, FAST_MS = 80, 5  # between the thresholds (40-150 ms), and under them


def ctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscalebot.cli", "ctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or dict(os.environ),
    )


def socket_of(cli: CLI) -> Path:
    assert cli.wait_for(lambda: cli.events("control"), timeout=20), cli.lines[:5]
    match = re.search(r"socket=(\S+)", cli.events("control")[0])
    assert match
    return Path(match.group(1))


def test_ctl_steers_the_running_bot(run_cli, heroku, heartbeat, tmp_path):
    heartbeat.set(latency=OK_MS / 1000)
    cli = run_cli(
        "--set",
        f"HEARTBEAT_URL={heartbeat.heartbeat_url}",
        "--set",
        "MANUAL_HOLD_IN_SECONDS=30",
        "--set",
        "MAX_DYNOS=6",
        quantity=2,
    )
    path = socket_of(cli)
    assert path.parent == Path(os.environ["XDG_RUNTIME_DIR"]) / "autoscalebot"
    assert path.name == f"{APP}-web.sock"
    assert cli.wait_for(lambda: cli.events("beat"), timeout=20)

    status = ctl("status")
    assert status.returncode == 0, status.stderr
    assert f"attached to {APP}/web (pid {cli.proc.pid})" in status.stdout
    assert "2 (window 1-6)" in status.stdout

    paused = ctl("pause")
    assert paused.returncode == 0 and "applied" in paused.stdout
    assert cli.wait_for(lambda: any("action=pause" in e for e in cli.events("operator")))

    scaled = ctl("--socket", str(path), "scale", "4")
    assert scaled.returncode == 0, scaled.stdout + scaled.stderr
    assert heroku.quantity(APP) == 4
    assert ctl("resume").returncode == 0
    # Fast beats would scale down within half a second; the operator's hold keeps 4.
    heartbeat.set(latency=FAST_MS / 1000)
    assert cli.wait_for(lambda: any("action=hold" in d for d in cli.events("decision")))
    cli.wait_for(lambda: False, timeout=1.5)
    assert heroku.quantity(APP) == 4

    applied = ctl("--json", "set", "MAX_RESPONSE_TIME_IN_MS=500")
    assert applied.returncode == 0, applied.stdout
    assert '"ok": true' in applied.stdout
    saved = tmp_path / "xdg" / "autoscalebot" / "autoscalebot.toml"
    assert tomllib.loads(saved.read_text())["max_response_time_in_ms"] == 500

    refused = ctl("set", "MIN_RESPONSE_TIME_IN_MS=900")  # not below MAX: the engine says no
    assert refused.returncode == 1 and "refused" in refused.stdout
    assert "MIN_RESPONSE_TIME_IN_MS" in refused.stdout

    assert ctl("scale", "lots").returncode == 2
    assert ctl("frobnicate").returncode == 2

    code, _ = cli.terminate()
    assert code == 0 and not path.exists()
    gone = ctl("status")
    assert gone.returncode == 3 and "no bot" in gone.stderr
    assert "Traceback" not in gone.stderr + cli.stderr


def test_a_second_bot_for_the_same_formation_refuses_to_start(run_cli, heartbeat):
    heartbeat.set(latency=OK_MS / 1000)
    first = run_cli("--set", f"HEARTBEAT_URL={heartbeat.heartbeat_url}")
    socket_of(first)
    second = run_cli("--set", f"HEARTBEAT_URL={heartbeat.heartbeat_url}")
    second.proc.wait(20)  # it ends by itself
    code, _ = second.terminate()
    assert code == 2
    assert f"another bot (pid {first.proc.pid})" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.proc.poll() is None  # the first one runs on, untouched
    first.terminate()


def test_ctl_with_no_bot_says_so_and_exits_3():
    started = time.monotonic()
    done = ctl("status")
    assert done.returncode == 3
    assert "no bot is listening" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30

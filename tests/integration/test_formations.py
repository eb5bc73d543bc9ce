"""One headless bot, several formations: web and two workers of one Heroku app, and
a Deployment on the Kubernetes emulator; one worker's heartbeat hangs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from autoscalebot.emulator.heartbeat import HeartbeatServer
from autoscalebot.emulator.kubernetes import KubernetesEmulator
from tests.integration.conftest import APP, CLI, KEY
from tests.integration.test_attach import ctl

K8S_TOKEN = "k8s-itest-token-7d1e"


@pytest.fixture
def hung():
    with HeartbeatServer() as server:
        server.set_mode("hang")
        yield server


@pytest.fixture
def k8s():
    with KubernetesEmulator(token=K8S_TOKEN) as emulator:
        emulator.add_deployment("blog", "api", replicas=2)
        yield emulator


def write_config(path: Path, heartbeat: HeartbeatServer, hung: HeartbeatServer, k8s, token: Path):
    path.write_text(
        f"""
# Top level: inherited by every formation.
heroku_app_name = "{APP}"
heartbeat_url = "{heartbeat.heartbeat_url}"
heartbeat_interval_in_seconds = 0.1
max_response_time_in_ms = 150
min_response_time_in_ms = 40
count_refresh_in_seconds = 0.5

[[formations]]
process_type = "web"

[[formations]]
process_type = "worker"
min_dynos = 0

[[formations]]
process_type = "mailer"
heartbeat_url = "{hung.heartbeat_url}"
heartbeat_timeout_in_seconds = 1.5

[[formations]]
name = "blog/api"
scaling_backend = "kubernetes"
kubernetes_api_url = "{k8s.url}"
kubernetes_namespace = "blog"
kubernetes_deployment = "api"
kubernetes_token_file = "{token}"
"""
    )


def test_one_bot_scales_many_formations_and_a_hung_one_delays_none(
    run_cli, heroku, heartbeat, hung, k8s, tmp_path
):
    heartbeat.set(latency=0.08)  # ok beats: between the thresholds
    heroku.add_app(APP, web_url=heartbeat.url + "/", formation={"web": 2, "worker": 1, "mailer": 1})
    token = tmp_path / "token"
    token.write_text(K8S_TOKEN)
    config = tmp_path / "bot.toml"
    write_config(config, heartbeat, hung, k8s, token)
    cli: CLI = run_cli("--config", str(config))
    cli.wait_for(lambda: False, timeout=4.0)  # four seconds of 0.1 s beats
    # One socket for the whole bot; ctl names the formation it means.
    every = ctl("status")
    assert every.returncode == 0 and all(
        fid in every.stdout for fid in (f"{APP}/web", f"{APP}/worker", f"{APP}/mailer", "blog/api")
    ), every.stdout + every.stderr
    vague = ctl("pause")
    assert vague.returncode == 2 and "--formation" in vague.stderr
    paused = ctl("--formation", f"{APP}/worker", "pause")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert cli.wait_for(
        lambda: any(
            f"formation={APP}/worker" in e and "action=pause" in e for e in cli.events("operator")
        )
    )
    assert not any(f"formation={APP}/web" in e for e in cli.events("operator"))
    code, took = cli.terminate()
    assert code == 0 and took < 2.0, cli.stderr
    beats = Counter(
        m.group(1) for line in cli.events("beat") if (m := re.search(r" formation=(\S+)", line))
    )
    for fid in (f"{APP}/web", f"{APP}/worker", "blog/api"):
        assert beats[fid] >= 25, beats  # ~40 due; none waited for the mailer's hung heartbeat
    assert beats[f"{APP}/mailer"] <= 4  # one beat per 1.5 s timeout, each a fail
    per_formation = [e for kind in ("start", "beat", "trouble") for e in cli.events(kind)]
    assert per_formation and all(" formation=" in line for line in per_formation)
    # Each formation's beats are in the bot's own history, apart (simulate --trace history).
    from autoscalebot.history import History

    kept = History(Path(os.environ["XDG_DATA_HOME"]) / "autoscalebot" / "history.sqlite3")
    try:
        assert {f"{APP}/web", f"{APP}/worker", "blog/api"} <= set(kept.formations())
        assert len(kept.beats(f"{APP}/web")) >= 25
    finally:
        kept.close()
    control = cli.events("control")[0]
    assert "formations=4" in control and "formations.sock" in control
    assert "Traceback" not in cli.stderr and KEY not in "\n".join(cli.lines)


def test_a_mistake_in_one_formation_is_named(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(
        'heroku_app_name = "shop"\n[[formations]]\nname = "jobs"\nprocess_type = "worker"\nmax_dynoz = 3\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "autoscalebot.cli", "--config", str(config), "--duration", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HEROKU_API_KEY": "k", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "FORMATIONS[jobs].MAX_DYNOZ" in done.stderr and "Did you mean MAX_DYNOS?" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_stops_a_thousand_formations_within_two_seconds(heroku, heartbeat, tmp_path):
    heartbeat.set(latency=0.0)
    heroku.add_app(APP, web_url=heartbeat.url + "/", formation={f"w{n}": 1 for n in range(1000)})
    config = tmp_path / "many.toml"
    config.write_text(
        f'heroku_app_name = "{APP}"\nheartbeat_url = "{heartbeat.heartbeat_url}"\n'
        "heartbeat_interval_in_seconds = 30\n"
        + "".join(f'[[formations]]\nprocess_type = "w{n}"\n' for n in range(1000))
    )
    env = {
        "HEROKU_API_KEY": KEY,
        "HEROKU_API_URL": heroku.url,
        "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    } | {k: v for k, v in __import__("os").environ.items() if k == "XDG_RUNTIME_DIR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoscalebot.cli", "--config", str(config), "--duration", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        started = 0
        deadline = time.monotonic() + 60
        while started < 1000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            started += " event=start " in line
        assert started == 1000
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)  # reading on: a full pipe would hold it
        assert time.monotonic() - sent < 2.0
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

"""The CLI's first impressions: --version, --help, bad input, the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from autoscalebot import __version__


def cli(
    *args: str, env: dict[str, str] | None = None, cwd=None, timeout: float = 20
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSCALE_", "HEROKU_"))}
    return subprocess.run(
        [sys.executable, "-m", "autoscalebot.cli", *args],
        capture_output=True,
        text=True,
        env=base | (env or {}),
        cwd=cwd,
        timeout=timeout,
    )


def test_version_and_help():
    assert cli("--version").stdout.strip() == f"autoscalebot {__version__}"
    out = cli("--help").stdout
    for flag in ("--settings", "--config", "--demo", "--dry-run", "--headless", "--set"):
        assert flag in out


@pytest.mark.parametrize(
    "args, says",
    [
        (["emulate", "--help"], "usage: autoscalebot emulate [-h] NAME"),
        (["emulate", "heroku", "--help"], "usage: autoscalebot emulate heroku"),
        (["emulate", "kubernetes", "--help"], "usage: autoscalebot emulate kubernetes"),
        (["emulate", "heartbeat", "--help"], "usage: autoscalebot emulate heartbeat"),
        (["ctl", "--help"], "usage: autoscalebot ctl"),
        (["ctl", "scale", "--help"], "usage: autoscalebot ctl scale"),
        (["simulate", "--help"], "usage: autoscalebot simulate"),
    ],
)
def test_every_command_has_its_own_help(args, says):
    done = cli(*args)
    assert done.returncode == 0 and done.stdout.startswith(says), done.stdout[:200]
    assert "python -m" not in done.stdout


def test_emulate_without_a_name_says_which_there_are():
    done = cli("emulate")
    assert done.returncode == 2
    assert "required: NAME" in done.stderr and "unrecognized" not in done.stderr
    wrong = cli("emulate", "herokku")
    assert wrong.returncode == 2 and "'heroku'" in wrong.stderr and "'kubernetes'" in wrong.stderr
    token = cli("emulate", "kubernetes", "--help").stdout
    assert "--token-file PATH" in token


KEYS = {"HEROKU_API_KEY": "k", "HEROKU_APP_NAME": "a"}


@pytest.mark.parametrize(
    "args, env, setting",
    [
        ([], {}, "HEROKU_APP_NAME"),
        ([], {"HEROKU_APP_NAME": "a"}, "HEROKU_API_KEY"),
        (["--set", "MAX_DYNOS=-1"], KEYS, "MAX_DYNOS"),
        (["--set", "MIN_DYNOS=0:00=1,8:00=9"], KEYS, "MIN_DYNOS"),
        (
            ["--set", "NOTIFICATION_BACKENDS=autoscalebot.backends.notification.Nope"],
            KEYS,
            "NOTIFICATION_BACKENDS",
        ),
        (["--set", "SCALING_BACKEND=no.such.Backend"], KEYS, "SCALING_BACKEND"),
        (["--set", "MAX_DYNOZ=3"], KEYS, "MAX_DYNOZ"),
        (["--set", "HEROKU_API_KEY=x"], KEYS, "HEROKU_API_KEY"),
        (["--interval", "0"], KEYS, "HEARTBEAT_INTERVAL_IN_SECONDS"),
        (["--settings", "no_such_settings_module"], KEYS, "--settings"),
        (["--config", "/nonexistent/autoscalebot.toml"], KEYS, "--config"),
        (["--set", "HEROKU_API_URL=http://api.example.com"], KEYS, "HEROKU_API_URL"),
    ],
)
def test_bad_input_one_line_exit_2_no_traceback(tmp_path, args, env, setting):
    out = cli(*args, env=env | {"XDG_CONFIG_HOME": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"autoscalebot: error: {setting}")
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_broken_settings_module_is_reported_without_traceback(tmp_path):
    (tmp_path / "autoscale_settings.py").write_text("MAX_DYNOS = (\n")
    out = cli("--settings=autoscale_settings", env=KEYS, cwd=tmp_path)
    assert out.returncode == 2 and "syntax error" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "autoscale_settings.py").write_text("MAX_DYNOS = 'three'\n")
    out = cli("--settings=autoscale_settings", env=KEYS, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.startswith("autoscalebot: error: MAX_DYNOS")


def test_bad_config_file_is_left_untouched(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"max_dynos = [\n")
    out = cli("--config", str(path), env=KEYS)
    assert out.returncode == 2 and "not valid TOML" in out.stderr
    assert path.read_bytes() == b"max_dynos = [\n"


def test_demo_scales_up_under_the_surge_and_stops_by_itself():
    started = time.monotonic()
    out = cli("--demo", "--duration", "30", timeout=60)
    assert out.returncode == 0, out.stderr
    # A newcomer is told how long it runs and how to stop it.
    assert "the demo runs 30 s" in out.stderr and "Ctrl-C stops it" in out.stderr
    ups = [
        line
        for line in out.stdout.splitlines()
        if " event=scale " in line and "from=1 to=2" in line
    ]
    assert ups, out.stdout[-2000:]
    assert time.monotonic() - started < 45


def test_demo_tells_adaptive_its_app_so_its_load_estimates_are_right():
    # The demo's app: 100 ms requests, one worker per dyno, a 24 rps surge. Told the
    # defaults' app instead (two workers), adaptive read the surge as ~40-76 rps.
    out = cli("--demo", "--duration", "30", "--set", "DECISION_BACKEND=adaptive", timeout=60)
    assert out.returncode == 0, out.stderr
    scales = [line for line in out.stdout.splitlines() if " event=scale " in line]
    assert any("from=1 to=" in line for line in scales), out.stdout[-2000:]
    estimates = [float(rps) for rps in re.findall(r"~(\d+) rps", "\n".join(scales))]
    assert estimates and max(estimates) <= 30, scales

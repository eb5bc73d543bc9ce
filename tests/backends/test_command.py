"""CommandScaler with real small programs: a script keeping the count in a file."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.command import CommandScaler
from autoscalebot.config import ConfigError, build_settings
from autoscalebot.emulator.heartbeat import HeartbeatServer
from tests.closed_loop.harness import parse_logfmt

PLATFORM = r"""
import json, os, subprocess, sys, time
action, state = sys.argv[1], sys.argv[2]
log = state + ".argv"
with open(log, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
if action == "count":
    print(open(state).read().strip() if os.path.exists(state) else "1")
elif action == "scale":
    spec = sys.argv[3]
    if not spec.startswith("web="):
        sys.exit("unknown process type in " + spec)
    open(state, "w").write(spec.split("=", 1)[1])
    print("Scaling myapp processes: web=" + spec.split("=", 1)[1])
elif action == "fail":
    print("some progress output")
    print("lots of\nnoise\n" * 100 + "!     App myapp does not exist", file=sys.stderr)
    sys.exit(3)
elif action == "garbage":
    print("three")
elif action == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    open(state + ".child", "w").write(str(child.pid))
    time.sleep(60)
"""


@pytest.fixture
def platform(tmp_path):
    script = tmp_path / "platform.py"
    script.write_text(PLATFORM)
    state = tmp_path / "count"

    def command(action, *more):
        return shlex.join([sys.executable, str(script), action, str(state), *more])

    command.state = state
    command.argv = lambda: [
        json.loads(x) for x in (tmp_path / "count.argv").read_text().splitlines()
    ]
    return command


def settings(**extra):
    raw = {
        "SCALING_BACKEND": "command",
        "HEARTBEAT_URL": "http://127.0.0.1:9/",
        "COMMAND_TIMEOUT_IN_SECONDS": 10,
    }
    return build_settings(raw | extra)


def make(platform, scale="scale", count="count", **extra):
    return CommandScaler(
        settings(
            SCALE_COMMAND=platform(scale, "web={quantity}"), COUNT_COMMAND=platform(count), **extra
        )
    )


def test_counts_and_scales(platform):
    scaler = make(platform)
    assert scaler.current() == 1
    assert scaler.scale_to(4) == 4
    assert platform.state.read_text() == "4"
    assert scaler.current() == 4
    assert platform.argv()[1] == ["scale", str(platform.state), "web=4"]
    assert scaler.app_url() is None


def test_values_are_substituted_inside_arguments_never_through_a_shell(platform, tmp_path):
    marker = tmp_path / "pwned"
    nasty = f"web $(touch {marker}); touch {marker} ` touch {marker}`"
    # PROCESS_TYPE is refused with shell syntax in it at start; this checks the
    # second wall anyway: were such a value to get through, no shell ever sees it.
    checked = settings(
        SCALE_COMMAND=platform("scale", "{process_type}={quantity}", "--quiet"),
        COUNT_COMMAND=platform("count"),
    )
    scaler = CommandScaler(dataclasses.replace(checked, process_type=nasty))
    with pytest.raises(ScalerError, match="unknown process type"):
        scaler.scale_to(2)
    assert platform.argv()[-1] == ["scale", str(platform.state), f"{nasty}=2", "--quiet"]
    assert not marker.exists()


def test_non_zero_exit_reports_the_end_of_stderr(platform):
    scaler = make(platform, scale="fail")
    with pytest.raises(ScalerError) as info:
        scaler.scale_to(2)
    text = str(info.value)
    assert info.value.kind == "server"
    assert text.startswith("SCALE_COMMAND (python")
    assert "exited with status 3: " in text and text.endswith("!     App myapp does not exist")
    assert len(text) < 400


def test_unparsable_count(platform):
    with pytest.raises(
        ScalerError, match="COUNT_COMMAND printed 'three', not a whole number"
    ) as info:
        make(platform, count="garbage").current()
    assert info.value.kind == "protocol"


def test_timeout_kills_the_command_and_its_children(platform):
    scaler = make(platform, scale="hang", COMMAND_TIMEOUT_IN_SECONDS=1)
    started = time.monotonic()
    with pytest.raises(ScalerError, match=r"was still running after 1 s and was killed") as info:
        scaler.scale_to(2)
    assert time.monotonic() - started < 5
    assert info.value.kind == "network"
    child = int(platform.state.with_name("count.child").read_text())
    deadline = time.monotonic() + 5
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_program_that_vanished_is_not_found(platform, tmp_path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho 1\n")
    tool.chmod(0o755)
    scaler = CommandScaler(settings(SCALE_COMMAND=f"{tool} {{quantity}}", COUNT_COMMAND=str(tool)))
    assert scaler.current() == 1
    tool.chmod(0o644)
    with pytest.raises(ScalerError, match="is not executable"):
        scaler.current()
    tool.unlink()
    with pytest.raises(ScalerError, match="is not installed") as info:
        scaler.current()
    assert info.value.kind == "not_found"


@pytest.mark.parametrize(
    ("extra", "setting", "words"),
    [
        ({"SCALE_COMMAND": None}, "SCALE_COMMAND", "is required"),
        ({"COUNT_COMMAND": None}, "COUNT_COMMAND", "is required"),
        ({"SCALE_COMMAND": "echo scale"}, "SCALE_COMMAND", "no {quantity}"),
        ({"SCALE_COMMAND": "echo 'web={quantity}"}, "SCALE_COMMAND", "cannot be split"),
        ({"SCALE_COMMAND": "{quantity} go"}, "SCALE_COMMAND", "starts with a placeholder"),
        ({"COUNT_COMMAND": "no-such-tool-here --count"}, "COUNT_COMMAND", "is not on PATH"),
        ({"HEARTBEAT_URL": "/health"}, "HEARTBEAT_URL", "is a path"),
    ],
)
def test_configuration_errors_name_the_setting(extra, setting, words):
    raw = {"SCALE_COMMAND": "echo web={quantity}", "COUNT_COMMAND": "echo 1"} | extra
    with pytest.raises(ConfigError) as info:
        CommandScaler(settings(**raw))
    assert info.value.setting == setting and words in str(info.value)


def test_the_headless_bot_scales_through_commands(platform, tmp_path):
    """The real CLI with the command scaler: a slow heartbeat makes it run SCALE_COMMAND."""
    with HeartbeatServer(latency=0.3) as beat:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSCALE_", "HEROKU_"))}
        env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
        args = [
            sys.executable, "-m", "autoscalebot.cli", "--headless", "--duration", "3",
            "--set", "SCALING_BACKEND=command",
            "--set", f"SCALE_COMMAND={platform('scale', 'web={quantity}')}",
            "--set", f"COUNT_COMMAND={platform('count')}",
            "--set", f"HEARTBEAT_URL={beat.heartbeat_url}",
            "--set", "HEARTBEAT_INTERVAL_IN_SECONDS=0.1",
            "--set", "MAX_RESPONSE_TIME_IN_MS=200",
            "--set", "MIN_RESPONSE_TIME_IN_MS=50",
            "--set", "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=2",
            "--set", "MAX_DYNOS=2",
        ]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, env=env)
    lines = [parse_logfmt(line) for line in done.stdout.splitlines()]
    scales = [line for line in lines if line.get("event") == "scale"]
    assert done.returncode == 0, done.stderr
    assert scales and (scales[0]["from"], scales[0]["to"]) == ("1", "2"), done.stdout
    # The start line names the target (the command), never a class path.
    start = next(line for line in lines if line.get("event") == "start")
    assert start["app"].startswith("command ") and "web={quantity}" in start["app"]
    assert platform.state.read_text() == "2"


def test_process_type_is_filled_into_the_count_command_too(platform):
    scaler = CommandScaler(
        settings(
            SCALE_COMMAND=platform("scale", "web={quantity}"),
            COUNT_COMMAND=platform("count", "--type={process_type}"),
            PROCESS_TYPE="worker",
        )
    )
    scaler.current()
    assert platform.argv()[-1] == ["count", str(platform.state), "--type=worker"]

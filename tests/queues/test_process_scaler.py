"""The process-group scaler with real child processes."""

from __future__ import annotations

import signal
import sys
import time

import pytest

from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.processes import ProcessGroupScaler
from autoscalebot.config import build_settings
from autoscalebot.config.settings import ConfigError

SLEEPER = f"{sys.executable} -c 'import time; time.sleep(60)'"


def settings(command, **more):
    raw = {"SCALING_BACKEND": "process-group", "PROCESS_COMMAND": command, "PROCESS_TYPE": "worker"}
    return build_settings({**raw, "COMMAND_TIMEOUT_IN_SECONDS": 2, **more}, require_platform=False)


def test_scales_up_and_down_with_real_processes_and_stops_them_all_on_close():
    scaler = ProcessGroupScaler(settings(SLEEPER))
    try:
        assert scaler.current() == 0
        assert scaler.scale_to(3) == 3
        pids = [p.pid for p in scaler.running]
        assert scaler.current() == 3
        assert scaler.scale_to(1) == 1
        assert scaler.running[0].pid == pids[0]  # the oldest stays
        assert scaler.current() == 1
        stopped = scaler.stopping
    finally:
        scaler.close()
    assert all(p.poll() is not None for p in stopped)
    assert scaler.current() == 0


def test_a_worker_that_dies_is_no_longer_counted():
    scaler = ProcessGroupScaler(settings(f"{sys.executable} -c 'pass'"))
    try:
        scaler.scale_to(2)
        for proc in scaler.running:
            proc.wait(10)
        assert scaler.current() == 0
    finally:
        scaler.close()


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    ready = tmp_path / "ready"
    stubborn = (
        f"{sys.executable} -c 'import pathlib, signal, time; "
        f'signal.signal(signal.SIGTERM, signal.SIG_IGN); pathlib.Path("{ready}").touch(); '
        "time.sleep(60)'"
    )
    scaler = ProcessGroupScaler(settings(stubborn, COMMAND_TIMEOUT_IN_SECONDS=0.5))
    scaler.scale_to(1)
    proc = scaler.running[0]
    for _ in range(200):  # bounded: 10 s for the child to ignore SIGTERM
        if ready.exists():
            break
        time.sleep(0.05)
    assert ready.exists()
    started = time.monotonic()
    scaler.close()
    assert proc.poll() == -signal.SIGKILL
    assert time.monotonic() - started >= 0.4  # it was given the grace first


def test_bad_commands_are_named():
    with pytest.raises(ConfigError) as caught:
        ProcessGroupScaler(settings("no-such-worker-program --queue x"))
    assert caught.value.setting == "PROCESS_COMMAND" and "not on PATH" in str(caught.value)
    with pytest.raises(ConfigError):
        ProcessGroupScaler(settings("rq worker 'unclosed"))
    with pytest.raises(ConfigError):
        ProcessGroupScaler(settings(""))
    scaler = ProcessGroupScaler(settings("/nonexistent/worker"))
    with pytest.raises(ScalerError) as failed:
        scaler.scale_to(1)
    assert "not installed" in str(failed.value)

"""GunicornScaler against a real gunicorn master, and the process table on a fake /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.gunicorn import GunicornScaler, ProcessTable
from autoscalebot.config import ConfigError, build_settings
from tests.closed_loop.harness import GunicornServer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def settings(pidfile, **extra):
    raw = {
        "SCALING_BACKEND": "gunicorn",
        "GUNICORN_PIDFILE": str(pidfile),
        "HEARTBEAT_URL": "http://127.0.0.1:9/",
        "GUNICORN_SCALE_TIMEOUT_IN_SECONDS": 5,
    }
    return build_settings(raw | extra)


@pytest.fixture
def gunicorn(tmp_path):
    pytest.importorskip("gunicorn")
    with GunicornServer(tmp_path, workers=1, service_ms=5) as server:
        yield server


def test_reads_scales_up_and_down_and_matches_the_process_table(gunicorn):
    scaler = GunicornScaler(settings(gunicorn.pidfile))
    assert scaler.master_pid() == gunicorn.pid
    assert scaler.current() == 1
    assert scaler.scale_to(4) == 4
    assert gunicorn.worker_count() == 4
    assert scaler.scale_to(2) == 2
    assert gunicorn.worker_count() == 2 == scaler.current()
    assert scaler.scale_to(2) == 2  # no change, no signal
    assert scaler.app_url() is None


def test_a_scale_that_does_not_show_in_time_is_reported(gunicorn, monkeypatch):
    sent = []
    scaler = GunicornScaler(
        settings(gunicorn.pidfile, GUNICORN_SCALE_TIMEOUT_IN_SECONDS=0.3),
        kill=lambda pid, sig: sent.append(sig),  # the signal is "lost"
    )
    with pytest.raises(ScalerError) as info:
        scaler.scale_to(2)
    assert info.value.kind == "server"
    assert "gunicorn has 1 workers 0.3 s after 1 SIGTTIN signal(s); wanted 2" in str(info.value)
    assert sent == [signal.SIGTTIN]
    # The master was told to keep 2: the next scale waits for that, and sends nothing more.
    with pytest.raises(ScalerError, match="after an earlier scale"):
        scaler.scale_to(3)
    assert sent == [signal.SIGTTIN]


def test_master_gone_is_not_found(gunicorn):
    scaler = GunicornScaler(settings(gunicorn.pidfile))
    assert scaler.current() == 1
    gunicorn.proc.send_signal(signal.SIGTERM)
    gunicorn.proc.wait(10)
    with pytest.raises(ScalerError) as info:
        scaler.current()
    assert info.value.kind == "not_found"
    assert "gunicorn is not running" in str(info.value)


def test_a_stale_pidfile_naming_another_process_gets_no_signal(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pidfile = tmp_path / "stale.pid"
        pidfile.write_text(f"{other.pid}\n")
        sent = []
        scaler = GunicornScaler(settings(pidfile), kill=lambda pid, sig: sent.append((pid, sig)))
        with pytest.raises(ScalerError) as info:
            scaler.scale_to(2)
        assert info.value.kind == "not_found"
        assert "does not handle TTIN/TTOU" in str(info.value) and "no signal was sent" in str(
            info.value
        )
        assert sent == []
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_dead_pid_in_the_pidfile_is_not_found(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pidfile = tmp_path / "dead.pid"
    pidfile.write_text(str(gone.pid))
    with pytest.raises(ScalerError, match="is gone") as info:
        GunicornScaler(settings(pidfile)).current()
    assert info.value.kind == "not_found"


def test_garbage_in_the_pidfile_is_reported(tmp_path):
    pidfile = tmp_path / "bad.pid"
    pidfile.write_text("not-a-pid")
    with pytest.raises(ScalerError, match="not a process id"):
        GunicornScaler(settings(pidfile)).current()


@pytest.mark.parametrize(
    ("extra", "setting"),
    [
        ({"GUNICORN_PIDFILE": None}, "GUNICORN_PIDFILE"),
        ({"HEARTBEAT_URL": "/health"}, "HEARTBEAT_URL"),
        ({"MIN_DYNOS": 0}, "MIN_DYNOS"),
        ({"MIN_DYNOS": "0:00=1,22:00=0", "MAX_DYNOS": 3}, "MIN_DYNOS"),
    ],
)
def test_configuration_errors_name_the_setting(tmp_path, extra, setting):
    with pytest.raises(ConfigError) as info:
        GunicornScaler(settings(tmp_path / "g.pid", **extra))
    assert info.value.setting == setting


def test_a_custom_probe_may_keep_a_relative_heartbeat_url(tmp_path):
    GunicornScaler(
        settings(
            tmp_path / "g.pid", HEARTBEAT_URL="/health", MEASUREMENT_BACKEND="tests.fake.Probe"
        )
    )


# ---- the process table, on a fake /proc ----


def fake_proc(root, processes):
    """processes: {pid: (comm, state, ppid, sigcgt_hex)}"""
    for pid, (comm, state, ppid, sigcgt) in processes.items():
        d = root / str(pid)
        d.mkdir()
        (d / "stat").write_text(f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1 4194560 0 0\n")
        (d / "status").write_text(f"Name:\t{comm}\nState:\t{state}\nSigCgt:\t{sigcgt}\n")
    (root / "self").mkdir()
    (root / "meminfo").write_text("")


def test_process_table_counts_live_children_only(tmp_path):
    ttin_ttou = f"{(1 << 20) | (1 << 21):016x}"
    fake_proc(
        tmp_path,
        {
            100: ("gunicorn: master", "S", 1, ttin_ttou),
            101: ("worker (a) b)", "S", 100, "0"),  # parentheses in the name
            102: ("gunicorn", "R", 100, "0"),
            103: ("gunicorn", "Z", 100, "0"),  # exited, not reaped: serves nothing
            200: ("other", "S", 1, "0"),
        },
    )
    table = ProcessTable(tmp_path)
    assert table.live_children(100) == [101, 102]
    assert table.catches(100, signal.SIGTTIN, signal.SIGTTOU)
    assert not table.catches(200, signal.SIGTTIN)
    assert table.alive(100) and not table.alive(103) and not table.alive(999)


def test_real_process_table_sees_this_process():
    table = ProcessTable()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        deadline = time.monotonic() + 5
        while child.pid not in table.live_children(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert child.pid in table.live_children(os.getpid())
    finally:
        child.kill()
        child.wait()

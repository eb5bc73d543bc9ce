"""The opt-in Prometheus endpoint: fed by the engine's events, on loopback by
default, and started by the headless CLI when METRICS_PORT is set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autoscalebot.config import ConfigError
from autoscalebot.engine import events as ev
from autoscalebot.metrics import MetricsSink, serving_metrics
from tests.conftest import make_status
from tests.tui.tui_rig import make_settings

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, labels): value}`` from a real GET over loopback."""
    answer = httpx.get(url, timeout=5.0)
    answer.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def status(**changes: object) -> ev.StatusChanged:
    fields: dict[str, object] = dict(
        current=3, target=4, max=6, paused=True, streaks={"fails": (2, 3), "passes": (0, 5)}
    )
    return ev.StatusChanged(at=AT, status=make_status(**(fields | changes)))


def beat(latency_ms: float | None, outcome: str) -> ev.Beat:
    return ev.Beat(
        at=AT,
        latency_ms=latency_ms,
        status=200 if latency_ms is not None else None,
        error=None if latency_ms is not None else "timeout",
        outcome=outcome,  # type: ignore[arg-type]
        streaks={"fails": (1, 3), "passes": (0, 5)},
        current=3,
    )


def test_events_become_gauges_and_counters_on_a_loopback_scrape() -> None:
    metrics = MetricsSink()
    server = metrics.serve(0)  # 0: any free port, on loopback
    sink = metrics.sink_for("shop-web/web")
    other = metrics.sink_for("shop-web/worker")
    try:
        other(beat(900.0, "ok"))  # another formation's beat: its own series
        for event in (
            ev.Started(at=AT, app="shop-web", current=2, min=1, max=6, dry_run=False),
            beat(1350.0, "fail"),
            beat(None, "fail"),
            beat(120.0, "pass"),
            ev.Scaled(at=AT, before=2, after=3, reason="3 slow", manual=False),
            ev.ScaleFailed(at=AT, current=3, target=4, reason="503"),
            ev.Trouble(at=AT, source="platform", reason="503"),
            status(),
        ):
            sink(event)
        assert server.host == "127.0.0.1"
        got = scrape(server.url)
    finally:
        server.close()
    assert got[("autoscalebot_dynos", (("formation", "shop-web/web"),))] == 3
    assert (
        got[
            (
                "autoscalebot_dynos_target",
                (("formation", "shop-web/web"),),
            )
        ]
        == 4
    )
    assert (
        got[
            (
                "autoscalebot_dynos_min",
                (("formation", "shop-web/web"),),
            )
        ]
        == 1
    )
    assert (
        got[
            (
                "autoscalebot_dynos_max",
                (("formation", "shop-web/web"),),
            )
        ]
        == 6
    )
    assert got[("autoscalebot_paused", (("formation", "shop-web/web"),))] == 1
    assert got[
        (
            "autoscalebot_heartbeat_latency_seconds",
            (("formation", "shop-web/web"),),
        )
    ] == pytest.approx(0.12)
    assert (
        got[("autoscalebot_beats_total", (("formation", "shop-web/web"), ("outcome", "fail")))] == 2
    )
    assert (
        got[("autoscalebot_beats_total", (("formation", "shop-web/web"), ("outcome", "pass")))] == 1
    )
    assert (
        got[("autoscalebot_beats_total", (("formation", "shop-web/web"), ("outcome", "ok")))] == 0
    )
    assert (
        got[("autoscalebot_scales_total", (("formation", "shop-web/web"), ("manual", "false")))]
        == 1
    )
    assert (
        got[
            (
                "autoscalebot_scale_failures_total",
                (("formation", "shop-web/web"),),
            )
        ]
        == 1
    )
    assert (
        got[("autoscalebot_trouble_total", (("formation", "shop-web/web"), ("source", "platform")))]
        == 1
    )
    assert got[("autoscalebot_streak", (("formation", "shop-web/web"), ("streak", "fails")))] == 2
    assert (
        got[("autoscalebot_streak_limit", (("formation", "shop-web/web"), ("streak", "fails")))]
        == 3
    )
    assert (
        got[
            (
                "autoscalebot_info",
                (("app", "shop-web"), ("dry_run", "false"), ("formation", "shop-web/web")),
            )
        ]
        == 1
    )
    assert (
        got[("autoscalebot_beats_total", (("formation", "shop-web/worker"), ("outcome", "ok")))]
        == 1
    )


def test_the_settings_start_it_on_loopback_feed_both_sinks_and_stop_it_at_exit() -> None:
    port = _free_port()
    settings = make_settings(METRICS_PORT=str(port))
    assert settings.metrics_host == "127.0.0.1"
    url = f"http://127.0.0.1:{port}/metrics"
    with serving_metrics(settings) as metrics:
        assert metrics is not None
        metrics.sink_for("test-app/web")(beat(300.0, "ok"))
        got = scrape(url)
    assert (
        got[("autoscalebot_beats_total", (("formation", "test-app/web"), ("outcome", "ok")))] == 1
    )
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=5.0)


def test_off_unless_asked() -> None:
    settings = make_settings()
    assert settings.metrics_port is None

    with serving_metrics(settings) as got:
        assert got is None  # nothing started


def test_a_port_in_use_is_a_setting_error_naming_metrics_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(METRICS_PORT=str(port))
        with pytest.raises(ConfigError) as caught, serving_metrics(settings):
            pass
    assert caught.value.setting == "METRICS_PORT"
    assert str(port) in str(caught.value)


def test_a_bad_port_names_the_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings(METRICS_PORT="http")
    assert caught.value.setting == "METRICS_PORT"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_headless_cli_serves_metrics_while_it_runs(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"}
    env.pop("HEROKU_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoscalebot.cli", "--demo", "--duration", "30",
         "--set", f"METRICS_PORT={port}", "--set", "HEARTBEAT_INTERVAL_IN_SECONDS=0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        got: dict = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                got = scrape(f"http://127.0.0.1:{port}/metrics")
            except httpx.HTTPError:
                got = {}
            if sum(v for (name, _), v in got.items() if name == "autoscalebot_beats_total") >= 3:
                break
            time.sleep(0.1)  # polling a subprocess, not pacing a unit test
        assert sum(v for (name, _), v in got.items() if name == "autoscalebot_beats_total") >= 3
        assert got[("autoscalebot_dynos", (("formation", "autoscalebot-demo/web"),))] >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    beats = [line for line in out.splitlines() if " event=beat " in line]
    assert beats and "sample#autoscalebot.dynos=" in beats[0]

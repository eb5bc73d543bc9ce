"""The closed loop, all real processes on loopback.

gunicorn (sync workers, 50 ms a request) starts with one worker; a Poisson
load that needs about three arrives; the real ``autoscalebot --headless``
with the gunicorn scaler watches the same app's latency. Latency rises, the
bot adds workers, latency recovers; the load stops and the bot retires
workers down to MIN_DYNOS. Everything started here is stopped by the harness,
also when an assertion fails.
"""

from __future__ import annotations

import sys
import time

import pytest

from tests.closed_loop.harness import Scenario, run_closed_loop

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the gunicorn scaler reads /proc"
)


def test_bot_adds_workers_under_a_surge_and_retires_them_after(tmp_path):
    pytest.importorskip("gunicorn")
    scenario = Scenario()
    started = time.monotonic()
    run = run_closed_loop(tmp_path, scenario)
    elapsed = time.monotonic() - started
    figures = run.figures()
    context = f"figures={figures}\nbot output:\n{run.bot_output}"

    assert elapsed < 60, context
    scales = run.scales()
    # Never outside the bounds, in either direction.
    assert all(scenario.min_workers <= to <= scenario.max_workers for _, _, to in scales), context

    # Latency rose: the overloaded single worker answered far over the threshold.
    assert figures["overloaded"] is not None and figures["overloaded"]["p50"] > scenario.max_ms, (
        context
    )
    # The bot added workers soon, and enough of them, as the real process table shows.
    assert (
        figures["surge_to_first_worker_s"] is not None and figures["surge_to_first_worker_s"] < 5
    ), context
    assert figures["surge_to_enough_workers_s"] is not None, context
    assert figures["peak_workers"] >= run.needed_workers, context
    # Latency recovered while the load went on.
    settled = figures["settled"]
    assert settled is not None and settled["p50"] < scenario.max_ms, context
    assert settled["p50"] < figures["overloaded"]["p50"] / 3, context

    # The load stopped: the bot went back down to MIN_DYNOS, confirmed by gunicorn's children.
    assert figures["load_end_to_min_s"] is not None, context
    assert scales[-1][2] == scenario.min_workers, context
    assert run.final_workers == scenario.min_workers, context

    # The log says it the way operators read it.
    lines = [line.text for line in run.bot_lines]
    assert any("event=scale" in line and " from=1 to=2 " in line for line in lines), context
    assert any("event=beat" in line and "outcome=fail" in line for line in lines), context
    assert any("event=beat" in line and "outcome=pass" in line for line in lines), context

"""Black-box: the real CLI against the Heroku emulator and a loopback heartbeat."""

from __future__ import annotations

import pytest

APP = "itest-app"
KEY = "itest-planted-key-5f3c9a"
SLOW, OK, FAST = 0.3, 0.08, 0.0


def patches(heroku):
    return [p["quantity"] for p in heroku.patches()]


def test_slow_beats_lead_to_exactly_one_patch_to_count_plus_increment(run_cli, heroku, heartbeat):
    heartbeat.set(latency=SLOW)
    cli = run_cli("--set", "MAX_DYNOS=3", quantity=1)
    assert cli.wait_for(lambda: cli.events("scale"), timeout=20), cli.lines[-5:]
    heartbeat.set(latency=OK)  # back in the band: no further reason to scale
    n = len(cli.events("beat"))
    assert cli.wait_for(lambda: len(cli.events("beat")) >= n + 5, timeout=10)
    code, took = cli.terminate()
    assert code == 0 and took < 2.0
    assert patches(heroku) == [2]
    assert heroku.quantity(APP) == 2
    assert "from=1 to=2" in cli.events("scale")[0]
    assert "Traceback" not in cli.stderr


def test_fast_beats_scale_down(run_cli, heroku, heartbeat):
    heartbeat.set(latency=FAST)
    cli = run_cli("--set", "MIN_DYNOS=1", quantity=3)
    assert cli.wait_for(lambda: heroku.quantity(APP) == 1, timeout=20)
    code, _ = cli.terminate()
    assert code == 0
    assert patches(heroku) == [2, 1]


def test_errors_count_as_fails(run_cli, heroku, heartbeat):
    heartbeat.set(latency=FAST, status=500)
    cli = run_cli(quantity=1)
    assert cli.wait_for(lambda: patches(heroku), timeout=20)
    cli.terminate()
    assert patches(heroku)[0] == 2
    beat = cli.events("beat")[0]
    assert "status=500" in beat and "outcome=fail" in beat


def test_bounds_hold_at_max(run_cli, heroku, heartbeat):
    heartbeat.set(latency=SLOW)
    cli = run_cli("--set", "MAX_DYNOS=2", quantity=2)
    assert cli.wait_for(lambda: len(cli.events("beat")) >= 8, timeout=20)
    code, _ = cli.terminate()
    assert code == 0
    assert patches(heroku) == []
    assert any("kind=needs_above_max" in line for line in cli.events("notify"))


def test_count_outside_bounds_moves_to_the_nearest_bound(run_cli, heroku, heartbeat):
    heartbeat.set(latency=OK)
    cli = run_cli("--set", "MAX_DYNOS=3", quantity=6)
    assert cli.wait_for(lambda: patches(heroku), timeout=20)
    cli.terminate()
    assert patches(heroku) == [3]


def test_relative_heartbeat_url_resolves_against_web_url(run_cli, heroku, heartbeat):
    heartbeat.set(latency=OK)
    cli = run_cli("--set", "HEARTBEAT_URL=/autoscalebot/heartbeat/", quantity=1)
    assert cli.wait_for(lambda: heartbeat.hits >= 2, timeout=20)
    cli.terminate()
    assert "status=200" in cli.events("beat")[0]


def test_dry_run_never_patches(run_cli, heroku, heartbeat):
    heartbeat.set(latency=SLOW)
    cli = run_cli("--dry-run", quantity=1)
    assert cli.wait_for(lambda: cli.events("decision"), timeout=20)
    cli.terminate()
    assert patches(heroku) == []
    assert "action=dry-run" in cli.events("decision")[0]


def test_sigterm_mid_request_exits_promptly(run_cli, heroku, heartbeat):
    heartbeat.set_mode("hang")
    cli = run_cli("--set", "HEARTBEAT_TIMEOUT_IN_SECONDS=30", quantity=1)
    assert cli.wait_for(lambda: heartbeat.hits >= 1, timeout=15)
    code, took = cli.terminate()
    assert code == 0 and took < 2.0
    assert cli.events("stop")


@pytest.mark.parametrize(
    "status, error_id, words",
    [
        (401, "unauthorized", "401"),
        (403, "forbidden", "403"),
        (404, "not_found", "404"),
        (422, "invalid_params", "422"),
        (503, "service_unavailable", "503"),
    ],
)
def test_api_errors_are_reported_and_the_loop_goes_on(
    run_cli, heroku, heartbeat, status, error_id, words
):
    heartbeat.set(latency=SLOW)
    heroku.inject_fault(status=status, error_id=error_id, method="PATCH", times=1)
    cli = run_cli("--set", "NOTIFY_ON_SCALE_FAILS=true", quantity=1)
    assert cli.wait_for(lambda: cli.events("scale"), timeout=25), cli.lines[-5:]
    cli.terminate()
    failed = cli.events("scale_failed")
    assert len(failed) == 1 and words in failed[0]
    assert patches(heroku)[-1] == 2
    assert heroku.quantity(APP) == 2
    assert len([n for n in cli.events("notify") if "kind=scale_failed" in n]) == 1


def test_rate_limited_api_backs_off(run_cli, heroku, heartbeat):
    heartbeat.set(latency=SLOW)
    heroku.set_rate_limit_remaining(0)
    cli = run_cli("--set", f"HEARTBEAT_URL={heartbeat.heartbeat_url}", quantity=1)
    assert cli.wait_for(lambda: len(cli.events("beat")) >= 10, timeout=20)
    cli.terminate()
    api_calls = len(heroku.requests)
    assert api_calls <= 2, "the bot kept calling an exhausted API"
    assert any("source=platform" in t and "429" in t for t in cli.events("trouble"))


def test_the_key_never_appears_in_output(run_cli, heroku, heartbeat):
    heartbeat.set(latency=SLOW)
    heroku.inject_fault(status=401, error_id="unauthorized", times=100)
    cli = run_cli(quantity=1)
    assert cli.wait_for(lambda: len(cli.events("beat")) >= 5, timeout=20)
    cli.terminate()
    assert KEY not in "\n".join(cli.lines) + cli.stderr


def test_sigterm_during_a_scale_call_logs_its_outcome_and_restart_goes_on(
    run_cli, heroku, heartbeat
):
    heartbeat.set(latency=SLOW)
    cli = run_cli(quantity=1)
    assert cli.wait_for(lambda: len(cli.events("beat")) >= 1, timeout=15)
    heroku.set_latency(1.5)  # every API answer now takes 1.5 s: GET + PATCH = 3 s
    assert cli.wait_for(lambda: cli.events("decision"), timeout=20)
    code, took = cli.terminate(timeout=10)
    assert code == 0 and took < 5.0
    assert cli.events("scale") and "from=1 to=2" in cli.events("scale")[0]
    heroku.set_latency(0.0)
    again = run_cli(quantity=heroku.quantity(APP))
    assert again.wait_for(lambda: again.events("start"), timeout=15)
    again.terminate()
    assert "dynos=2" in again.events("start")[0]


def test_relative_heartbeat_url_with_the_api_rate_limited_is_not_a_slow_app(
    run_cli, heroku, heartbeat
):
    heroku.set_rate_limit_remaining(0)
    cli = run_cli(quantity=1)  # HEARTBEAT_URL is a path: the app's URL must come from the API
    assert cli.wait_for(lambda: cli.events("trouble"), timeout=15)
    n = len(heroku.requests)
    cli.wait_for(lambda: False, timeout=2)  # two seconds of 0.1 s beats
    cli.terminate()
    assert len(heroku.requests) == n  # backed off: no calls while the pool is empty
    # Beats are still logged, each with the cause, and none counts as slow.
    beats = cli.events("beat")
    assert beats and all("latency_ms=" not in b and "app URL unknown" in b for b in beats)
    assert not any(" fails=1/" in b or " fails=2/" in b for b in beats)
    assert patches(heroku) == []
    assert any("source=app-url" in t for t in cli.events("trouble"))

"""MIN_DYNOS=0 on a web process type is an outage: refused unless the user opts in by name."""

from __future__ import annotations

import io
from contextlib import redirect_stderr

import pytest

from autoscalebot import cli
from autoscalebot.config import ConfigError, build_settings

KEYS = {"HEROKU_API_KEY": "k-123", "HEROKU_APP_NAME": "dancing-forest-1234"}


@pytest.mark.parametrize(
    "min_dynos, when",
    [
        (0, "is 0 for the web process type"),
        ("0", "is 0 for the web process type"),
        ({"0:00": 0, "8:00": 2}, "is 0 from 0:00 for the web process type"),
        ({"0:00": 2, "22:00": 0}, "is 0 from 22:00 for the web process type"),
    ],
)
def test_zero_dynos_for_web_is_refused(min_dynos, when):
    with pytest.raises(ConfigError) as caught:
        build_settings({**KEYS, "MIN_DYNOS": min_dynos})
    assert caught.value.setting == "MIN_DYNOS"
    assert str(caught.value).startswith(f"MIN_DYNOS: {when}")
    assert "ALLOW_WEB_SCALE_TO_ZERO = True" in caught.value.fix


@pytest.mark.parametrize("min_dynos", [0, {"0:00": 0, "8:00": 2}])
def test_the_user_may_opt_in_by_name(min_dynos):
    s = build_settings({**KEYS, "MIN_DYNOS": min_dynos, "ALLOW_WEB_SCALE_TO_ZERO": "true"})
    assert s.min_dynos.value_at_minute(0) == 0 and s.allow_web_scale_to_zero


def test_a_worker_process_type_may_go_to_zero():
    s = build_settings({**KEYS, "MIN_DYNOS": 0, "PROCESS_TYPE": "worker"})
    assert s.min_dynos.to_raw() == 0 and s.process_type == "worker"


def test_one_dyno_or_more_needs_no_opt_in():
    assert build_settings({**KEYS, "MIN_DYNOS": {"0:00": 1, "8:00": 2}}).min_dynos.to_raw()


def test_the_simulator_may_try_zero_web_dynos():
    # require_platform=False: nothing is scaled, so there is no outage to prevent.
    s = build_settings({"MIN_DYNOS": 0}, require_platform=False)
    assert s.min_dynos.to_raw() == 0


def test_the_console_cannot_set_zero_for_web_either():
    s = build_settings(KEYS)
    with pytest.raises(ConfigError, match="ALLOW_WEB_SCALE_TO_ZERO"):
        s.with_changes({"MIN_DYNOS": 0})
    assert s.with_changes({"MIN_DYNOS": 0, "PROCESS_TYPE": "worker"}).min_dynos.to_raw() == 0


def test_the_cli_refuses_it_at_start_with_status_2(tmp_path, monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HEROKU_API_URL", "http://127.0.0.1:9")  # never reached
    err = io.StringIO()
    with redirect_stderr(err):
        status = cli.main(["--set", "MIN_DYNOS=0", "--duration", "1"])
    assert status == 2
    assert err.getvalue().startswith("autoscalebot: error: MIN_DYNOS: is 0 for the web process")
    assert err.getvalue().count("\n") == 1

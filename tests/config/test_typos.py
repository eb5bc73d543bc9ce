"""A typo or an unusable value on any channel stops the bot at start: one line, status 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from autoscalebot import cli
from autoscalebot.config import ConfigError, load_settings
from autoscalebot.sim import cli as sim_cli

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"HEROKU_API_KEY": "k-123", "HEROKU_APP_NAME": "dancing-forest-1234"}


@pytest.fixture
def module(tmp_path, monkeypatch):
    """Write a settings module in a fresh folder, run from there; returns its name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no user TOML file
    # Were a bad value let through, the bot would run a second against a closed port.
    monkeypatch.setenv("HEROKU_API_URL", "http://127.0.0.1:9")
    written: list[str] = []

    def write(text: str) -> str:
        name = f"autoscale_settings_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text(text)
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def from_module(name: str, env=None):
    return load_settings(
        settings_module=name,
        env={**KEYS, **(env or {})},
        config_path=None,
        allow_missing_config=True,
    )


def from_env(tmp_path, env):
    return load_settings(
        env={**KEYS, **env}, config_path=tmp_path / "none.toml", allow_missing_config=True
    )


def run_cli(argv: list[str], main=cli.main) -> tuple[int, str]:
    err = io.StringIO()
    with redirect_stderr(err):
        status = main(argv)
    return status, err.getvalue()


@pytest.mark.parametrize(
    "line, typo, meant",
    [
        ("MAX_DYNO = 10", "MAX_DYNO", "MAX_DYNOS"),
        ("MIN_RESPONSE_TIME_MS = 150", "MIN_RESPONSE_TIME_MS", "MIN_RESPONSE_TIME_IN_MS"),
        (
            "HEARTBEAT_INTERVAL_IN_SECOND = 5",
            "HEARTBEAT_INTERVAL_IN_SECOND",
            "HEARTBEAT_INTERVAL_IN_SECONDS",
        ),
    ],
)
def test_a_near_miss_in_a_settings_module_is_refused(module, line, typo, meant):
    name = module(f'HEROKU_APP_NAME = "my-app"\n{line}\n')
    with pytest.raises(ConfigError) as caught:
        from_module(name)
    assert caught.value.setting == typo
    assert str(caught.value).endswith(f"Did you mean {meant}?")


def test_other_upper_case_names_in_a_settings_module_are_left_alone(module):
    name = module(
        "import os\n"
        "from datetime import timedelta as TIMEDELTA\n"
        "BASE_DIR = os.path.dirname(__file__)\n"
        "SLACK_WEBHOOK_URL = 'https://hooks.example.com/x'\n"
        "DATABASE_URL = 'postgres://127.0.0.1/shop'\n"
        "def PEAK():\n    return 5\n"
        "MAX_DYNOS = PEAK()\n"
    )
    s = from_module(name)
    assert s.max_dynos.to_raw() == 5
    assert {"BASE_DIR", "SLACK_WEBHOOK_URL", "DATABASE_URL", "TIMEDELTA", "PEAK"} <= set(s.extra)


def test_the_cli_stops_on_a_settings_module_typo_with_status_2(module):
    name = module('HEROKU_APP_NAME = "my-app"\nHEROKU_API_KEY = "k"\nMAX_DYNO = 10\n')
    status, err = run_cli(["--settings", name, "--duration", "1"])
    assert status == 2
    assert err == (
        f"autoscalebot: error: MAX_DYNO: in {name} is not a setting. Did you mean MAX_DYNOS?\n"
    )


def test_a_file_name_given_to_settings_suggests_the_module_name(module):
    module_name = module('HEROKU_APP_NAME = "my-app"\n')
    status, err = run_cli(["--settings", f"{module_name}.py"])
    assert status == 2 and err.count("\n") == 1
    assert f"Write --settings={module_name} (without .py" in err


@pytest.mark.parametrize(
    "variable, fix",
    [
        ("AUTOSCALE_MAX_DYNO", "Did you mean AUTOSCALE_MAX_DYNOS?"),
        ("AUTOSCALE_MIN_RESPONSE_TIME_MS", "Did you mean AUTOSCALE_MIN_RESPONSE_TIME_IN_MS?"),
        ("AUTOSCALE_COLOUR", "Unset it; the settings table in the README lists every name."),
    ],
)
def test_an_unknown_autoscale_environment_variable_is_refused(tmp_path, variable, fix):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, {variable: "10"})
    assert caught.value.setting == variable
    assert str(caught.value) == f"{variable}: in the environment is not a setting. {fix}"


def test_the_cli_stops_on_an_environment_typo_with_status_2(tmp_path, monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("AUTOSCALE_MAX_DYNO", "10")
    monkeypatch.setenv("HEROKU_API_URL", "http://127.0.0.1:9")  # as in the fixture above
    status, err = run_cli(["--duration", "1"])
    assert status == 2
    assert err.startswith("autoscalebot: error: AUTOSCALE_MAX_DYNO: ")
    assert err.endswith("Did you mean AUTOSCALE_MAX_DYNOS?\n")


@pytest.mark.parametrize(
    "env, problem",
    [
        ({"AUTOSCALE_PROCESS_TYPE": ""}, "PROCESS_TYPE: is empty"),
        ({"AUTOSCALE_PROCESS_TYPE": "   "}, "PROCESS_TYPE: is empty"),
        ({"AUTOSCALE_PROCESS_TYPE": "web worker"}, "PROCESS_TYPE: 'web worker' is not"),
    ],
)
def test_an_empty_or_spaced_process_type_is_refused(tmp_path, env, problem):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, env)
    assert str(caught.value).startswith(problem)


@pytest.mark.parametrize(
    "key, shown",
    [
        ("k-123\u200b", "U+200B (ZERO WIDTH SPACE) at character 6"),
        ("\ufeffk-123", "U+FEFF (ZERO WIDTH NO-BREAK SPACE) at character 1"),
        ("k-1\u00a023", "U+00A0 (NO-BREAK SPACE) at character 4"),
        ("k-12é", "U+00E9 (LATIN SMALL LETTER E WITH ACUTE) at character 5"),
        ("k-1\t23", "U+0009 (a control character) at character 4"),
    ],
)
def test_an_api_key_with_a_character_no_key_has_is_refused_without_showing_it(tmp_path, key, shown):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, {"HEROKU_API_KEY": key})
    message = str(caught.value)
    assert message.startswith(f"HEROKU_API_KEY: contains {shown}")
    assert "k-1" not in message


def test_an_api_key_pasted_with_a_zero_width_space_stops_the_cli(module):
    name = module('HEROKU_APP_NAME = "my-app"\nHEROKU_API_KEY = "abcd\u200bef"\n')
    status, err = run_cli(["--settings", name, "--duration", "1"])
    assert status == 2 and err.count("\n") == 1
    assert "HEROKU_API_KEY: contains U+200B (ZERO WIDTH SPACE)" in err
    assert "abcd" not in err


@pytest.mark.parametrize("value", ["nan", "NaN", "0", "-5"])
def test_a_duration_that_is_not_a_positive_number_is_refused(tmp_path, value):
    # A subprocess, bounded in time: a nan let through would run the bot for ever.
    env = {
        **KEYS,
        "PATH": os.environ.get("PATH", ""),
        "XDG_CONFIG_HOME": str(tmp_path),
        "HEROKU_API_URL": "http://127.0.0.1:9",  # never reached
    }
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from autoscalebot.cli import main; sys.exit(main())"]
        + ["--duration", value],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == f"autoscalebot: error: --duration: {float(value):g} is not a positive number of seconds\n"
    )


def test_a_misspelt_decision_backend_lists_the_short_names(tmp_path):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, {"AUTOSCALE_DECISION_BACKEND": "adaptiv"})
    message = str(caught.value)
    assert message.startswith(
        "DECISION_BACKEND: 'adaptiv' is not a backend. Did you mean adaptive?"
    )
    for short in ("streak", "adaptive", "hpa", "step-scaling", "judoscale", "heroku-autoscaling"):
        assert short in message


def test_a_misspelt_policy_in_simulate_lists_the_short_names(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    status, err = run_cli(["--policy", "adaptiv"], main=sim_cli.main)
    assert status == 2 and err.count("\n") == 1
    assert "--policy: 'adaptiv' is not a policy. Did you mean adaptive?" in err
    for short in ("streak", "hpa", "step", "judoscale", "heroku"):
        assert short in err

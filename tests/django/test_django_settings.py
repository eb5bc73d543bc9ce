"""AUTOSCALE_ settings reach the bot; bad ones stop it with the CLI's message and status."""

from __future__ import annotations

import io
import sys
import uuid
from contextlib import redirect_stderr
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from testsite_runner import clean_env, manage

from autoscalebot import cli
from autoscalebot.config import ConfigError, load_settings
from autoscalebot.management.commands.run_autoscalebot import Command

UTC = ZoneInfo("UTC")


def from_django(**env: str):
    return load_settings(django_settings=django_settings, env=env)


def test_prefixed_names_reach_the_settings_with_their_origin():
    s = from_django()
    assert s.heroku_app_name == "my-app-name"
    assert s.heroku_api_key == "1234567890abcdef1234567890abcdef"
    assert s.notification_backends == ("autoscalebot.backends.notification.DjangoEmailBackend",)
    assert s.origins["HEROKU_APP_NAME"] == "django"
    assert s.origins["MAX_DYNOS"] == "django"
    assert s.origins["HEARTBEAT_INTERVAL_IN_SECONDS"] == "default"


def test_a_schedule_in_django_settings_is_read_in_djangos_time_zone():
    s = from_django()
    assert s.time_zone == "UTC"
    assert s.max_dynos.value_at(datetime(2026, 1, 5, 8, 59, tzinfo=UTC), s.tz) == 2
    assert s.max_dynos.value_at(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), s.tz) == 5
    assert s.max_dynos.value_at(datetime(2026, 1, 5, 17, 0, tzinfo=UTC), s.tz) == 2
    with override_settings(TIME_ZONE="America/Vancouver"):
        s = from_django()
    assert s.time_zone == "America/Vancouver"
    # 17:30 UTC is 9:30 in Vancouver (PST, UTC-8): the 9:00 entry holds.
    assert s.max_dynos.value_at(datetime(2026, 1, 5, 17, 30, tzinfo=UTC), s.tz) == 5


def test_autoscale_time_zone_wins_over_djangos():
    with override_settings(TIME_ZONE="America/Vancouver", AUTOSCALE_TIME_ZONE="Europe/Paris"):
        assert from_django().time_zone == "Europe/Paris"


def test_environment_and_options_override_django_settings():
    assert from_django(AUTOSCALE_INCREMENT="2").increment == 2
    command = Command()
    options = {
        "overrides": ["INCREMENT=3"],
        "interval": "0.5",
        "dry_run": True,
        "duration": None,
        "config": None,
    }
    s = command.settings_from(options)
    assert (s.increment, s.heartbeat_interval_in_seconds, s.dry_run) == (3, 0.5, True)
    assert s.heroku_app_name == "my-app-name"


def test_a_missing_required_setting_names_it():
    with override_settings(AUTOSCALE_HEROKU_API_KEY=None), pytest.raises(ConfigError) as caught:
        from_django()
    assert str(caught.value).startswith("HEROKU_API_KEY: is required to scale on Heroku")


@pytest.mark.parametrize(
    "setting, fix",
    [
        ("AUTOSCALE_HEROKU_API_KEY", "export HEROKU_API_KEY=... on the worker"),
        ("AUTOSCALE_HEROKU_APP_NAME", "set AUTOSCALE_HEROKU_APP_NAME in settings.py"),
    ],
)
def test_the_missing_key_fix_offers_only_what_run_autoscalebot_has(setting, fix):
    with override_settings(**{setting: None}), pytest.raises(CommandError) as caught:
        call_command("run_autoscalebot", "--duration", "1")
    message = str(caught.value)
    assert fix in message and caught.value.returncode == 2
    # run_autoscalebot has no --demo, and its --settings is Django's own.
    assert "--demo" not in message and "--settings" not in message


BAD_SCHEDULE = {"0:00": 2, "25:00": 5}  # the same as testsite/settings_bad.py


def cli_message(tmp_path, monkeypatch) -> str:
    """What ``autoscalebot --settings=MODULE`` says of the same bad value, seed-named."""
    module = f"seed_settings_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        f'HEROKU_APP_NAME = "my-app-name"\nHEROKU_API_KEY = "k"\nMAX_DYNOS = {BAD_SCHEDULE!r}\n'
    )
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    with redirect_stderr(err):
        status = cli.main(["--settings", module])
    sys.modules.pop(module, None)
    assert status == 2
    line = err.getvalue()
    assert line.startswith("autoscalebot: error: ") and line.count("\n") == 1
    return line.removeprefix("autoscalebot: error: ").strip()


def test_a_bad_value_gives_the_clis_message(tmp_path, monkeypatch):
    expected = cli_message(tmp_path, monkeypatch)
    assert expected.startswith("MAX_DYNOS: ")
    with override_settings(AUTOSCALE_MAX_DYNOS=BAD_SCHEDULE), pytest.raises(CommandError) as caught:
        call_command("run_autoscalebot", "--duration", "1")
    assert str(caught.value) == expected
    assert caught.value.returncode == 2


@pytest.mark.parametrize(
    "args, setting",
    [
        (["--set", "MAX_RESPONSE_TIME_IN_MS=fast"], "MAX_RESPONSE_TIME_IN_MS"),
        (["--set", "NO_SUCH_SETTING=1"], "NO_SUCH_SETTING"),
        (["--set", "HEROKU_API_KEY=abc"], "HEROKU_API_KEY"),
        (["--duration", "0"], "--duration"),
        (["--config", "/nonexistent/autoscalebot.toml"], "--config"),
    ],
)
def test_bad_options_are_a_command_error_with_status_2(args, setting):
    with pytest.raises(CommandError) as caught:
        call_command("run_autoscalebot", *args)
    assert str(caught.value).startswith(f"{setting}: ")
    assert caught.value.returncode == 2


def test_manage_py_exits_2_with_one_line_and_no_traceback(tmp_path, monkeypatch):
    expected = cli_message(tmp_path, monkeypatch)
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    done = manage("run_autoscalebot", "--settings=testsite.settings_bad", env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"CommandError: {expected}\n"

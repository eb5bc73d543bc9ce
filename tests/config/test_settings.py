"""Settings: seed defaults, sources and precedence, validation messages."""

from pathlib import Path

import pytest

from autoscalebot.config import SPEC, ConfigError, load_settings
from autoscalebot.config.sources import from_toml

KEYS = {"HEROKU_API_KEY": "k-123", "HEROKU_APP_NAME": "dancing-forest-1234"}


def load(tmp_path, env=None, **kw):
    kw.setdefault("config_path", None)
    if kw["config_path"] is None:
        kw["config_path"] = tmp_path / "absent.toml"
        kw["allow_missing_config"] = True
    return load_settings(env={**KEYS, **(env or {})}, **kw)


def test_seed_defaults(tmp_path):
    s = load(tmp_path)
    assert s.heartbeat_interval_in_seconds == 30
    assert s.heartbeat_url == "/autoscalebot/heartbeat/"
    assert (s.max_response_time_in_ms, s.min_response_time_in_ms) == (1000, 200)
    assert (s.number_of_fails_to_scale_up_after, s.number_of_passes_to_scale_down_after) == (3, 5)
    assert (s.max_dynos.to_raw(), s.min_dynos.to_raw(), s.increment) == (3, 1, 1)
    assert s.notification_backends == ()
    assert s.notify_if_scale_diff_exceeds_threshold is None
    assert s.notify_if_scale_diff_exceeds_period_in_minutes is None
    assert s.notify_if_needs_exceed_max is True
    assert not any(
        [
            s.notify_if_needs_below_min,
            s.notify_on_scale_fails,
            s.notify_on_every_scale,
            s.notify_on_every_ping,
        ]
    )
    assert s.heroku_api_url == "https://api.heroku.com"
    assert s.process_type == "web"


def test_every_seed_setting_is_in_the_table():
    seed = Path(__file__).resolve().parents[3] / "shared" / "seed" / "autoscalebot-README.md"
    if not seed.exists():
        pytest.skip("the seed README is not beside this checkout")
    import re

    named = set(re.findall(r"^\* `([A-Z_]+)`", seed.read_text(), re.M))
    assert named and named <= {s.name for s in SPEC}


def test_settings_module_found_on_current_directory(tmp_path, monkeypatch):
    (tmp_path / "autoscale_settings_t1.py").write_text(
        'HEROKU_APP_NAME = "from-module"\nMAX_DYNOS = {"0:00": 2, "9:00": 5, "17:00": 2}\n'
        "NOTIFICATION_BACKENDS = ['autoscalebot.backends.notification.ConsoleBackend']\n"
        "SOMETHING_ELSE = 7\n"
    )
    monkeypatch.chdir(tmp_path)
    s = load_settings(
        settings_module="autoscale_settings_t1",
        env={"HEROKU_API_KEY": "k"},
        config_path=tmp_path / "none.toml",
        allow_missing_config=True,
    )
    assert s.heroku_app_name == "from-module"
    assert s.max_dynos.to_raw() == {"0:00": 2, "9:00": 5, "17:00": 2}
    assert s.extra["SOMETHING_ELSE"] == 7


def test_precedence_module_toml_env_flag(tmp_path, monkeypatch):
    (tmp_path / "autoscale_settings_t2.py").write_text(
        "MAX_DYNOS = 4\nINCREMENT = 2\nMIN_DYNOS = 2\nCOOL_OFF_IN_SECONDS = 5\n"
    )
    toml = tmp_path / "c.toml"
    toml.write_text("max_dynos = 5\nincrement = 3\nmin_dynos = 3\n")
    monkeypatch.chdir(tmp_path)
    s = load_settings(
        settings_module="autoscale_settings_t2",
        config_path=toml,
        # A worker may go to zero dynos (a web process type may not, by default).
        env={
            **KEYS,
            "AUTOSCALE_INCREMENT": "4",
            "AUTOSCALE_MIN_DYNOS": "1",
            "AUTOSCALE_PROCESS_TYPE": "worker",
        },
        overrides={"MIN_DYNOS": "0"},
    )
    assert s.cool_off_in_seconds == 5  # module
    assert s.max_dynos.to_raw() == 5  # toml over module
    assert s.increment == 4  # env over toml
    assert s.min_dynos.to_raw() == 0  # flag over env
    assert s.origins["MAX_DYNOS"] == "toml" and s.origins["MIN_DYNOS"] == "flag"


def test_env_values_are_parsed(tmp_path):
    s = load(
        tmp_path,
        env={
            "AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS": "0.5",
            "AUTOSCALE_MAX_DYNOS": "0:00=2,9:00=5",
            "AUTOSCALE_NOTIFY_ON_EVERY_SCALE": "yes",
            "AUTOSCALE_NOTIFICATION_BACKENDS": "console,logger",
        },
    )
    assert s.heartbeat_interval_in_seconds == 0.5
    assert s.max_dynos.to_raw() == {"0:00": 2, "9:00": 5}
    assert s.notify_on_every_scale is True
    assert s.notification_backends == (
        "autoscalebot.backends.notification.ConsoleBackend",
        "autoscalebot.backends.notification.LoggerBackend",
    )


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"AUTOSCALE_MAX_DYNOS": "lots"}, "MAX_DYNOS"),
        ({"AUTOSCALE_INCREMENT": "0"}, "INCREMENT"),
        ({"AUTOSCALE_INCREMENT": "1.5"}, "INCREMENT"),
        ({"AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS": "0"}, "HEARTBEAT_INTERVAL_IN_SECONDS"),
        ({"AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS": "nan"}, "HEARTBEAT_INTERVAL_IN_SECONDS"),
        ({"AUTOSCALE_MAX_RESPONSE_TIME_IN_MS": "-1"}, "MAX_RESPONSE_TIME_IN_MS"),
        ({"AUTOSCALE_MIN_RESPONSE_TIME_IN_MS": "2000"}, "MIN_RESPONSE_TIME_IN_MS"),
        ({"AUTOSCALE_MIN_DYNOS": "0:00=1,8:00=4", "AUTOSCALE_MAX_DYNOS": "3"}, "MIN_DYNOS"),
        ({"AUTOSCALE_MAX_DYNOS": "25:00=3"}, "MAX_DYNOS"),
        ({"AUTOSCALE_NOTIFY_ON_EVERY_PING": "perhaps"}, "NOTIFY_ON_EVERY_PING"),
        ({"AUTOSCALE_TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        (
            {"AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD": "10"},
            "NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES",
        ),
        ({"AUTOSCALE_HEROKU_API_URL": "ftp://x"}, "HEROKU_API_URL"),
        ({"AUTOSCALE_HEARTBEAT_URL": "heartbeat"}, "HEARTBEAT_URL"),
        ({"AUTOSCALE_NOTIFICATION_BACKENDS": "not a path"}, "NOTIFICATION_BACKENDS"),
        ({"HEROKU_API_KEY": ""}, "HEROKU_API_KEY"),
    ],
)
def test_bad_values_name_the_setting(tmp_path, env, setting):
    with pytest.raises(ConfigError) as info:
        load_settings(
            env={**KEYS, **env}, config_path=tmp_path / "none.toml", allow_missing_config=True
        )
    assert info.value.setting == setting
    assert str(info.value).startswith(setting)


def test_missing_app_name_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="HEROKU_APP_NAME: is required"):
        load_settings(
            env={"HEROKU_API_KEY": "k"}, config_path=tmp_path / "n.toml", allow_missing_config=True
        )


def test_secret_never_shown_in_errors_or_repr(tmp_path):
    s = load(tmp_path, env={"HEROKU_API_KEY": "sekrit-planted-key"})
    assert "sekrit-planted-key" not in repr(s)
    assert "sekrit-planted-key" not in str(s.public())


@pytest.mark.parametrize(
    "text, words",
    [
        (b"max_dynos = [", "not valid TOML"),
        (b"max_dynoz = 3", "Did you mean MAX_DYNOS"),
        (b'heroku_api_key = "abc"', "secrets are never read from TOML"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'max_dynos = "three"', "MAX_DYNOS"),
    ],
)
def test_bad_toml(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=words):
        load_settings(env=KEYS, config_path=path)


def test_missing_config_named_explicitly_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env=KEYS, config_path=tmp_path / "nope.toml")


def test_unreadable_config(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("max_dynos = 3\n")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    # chmod 0 does not stop root (CI runs as root), so refuse the read directly.
    monkeypatch.setattr(type(path), "read_bytes", denied)
    with pytest.raises(ConfigError, match="cannot be read"):
        from_toml(path)


def test_http_api_url_refused_unless_loopback(tmp_path):
    from autoscalebot.backends.heroku import HerokuScaler

    with pytest.raises(ConfigError, match="HTTPS"):
        HerokuScaler(load(tmp_path, env={"HEROKU_API_URL": "http://api.example.com"}))
    HerokuScaler(load(tmp_path, env={"HEROKU_API_URL": "http://127.0.0.1:5000"})).close()


def test_the_example_settings_module_loads(tmp_path, monkeypatch):
    example = Path(__file__).resolve().parents[2] / "autoscale_settings.py.dist"
    (tmp_path / "autoscale_settings.py").write_text(example.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    s = load_settings(
        settings_module="autoscale_settings",
        env={"HEROKU_API_KEY": "k"},
        config_path=tmp_path / "none.toml",
        allow_missing_config=True,
    )
    assert s.heroku_app_name == "my-app-name"
    assert s.max_dynos.to_raw() == {"0:00": 2, "9:00": 5, "17:00": 2}
    assert s.notify_if_scale_diff_exceeds_threshold is not None

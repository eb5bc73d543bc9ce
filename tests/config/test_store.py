"""Saving settings keeps what the user wrote: comments, layout, symlinks, mode."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autoscalebot.config import ConfigError, load_settings, save_settings

KEYS = {"HEROKU_API_KEY": "k-123", "HEROKU_APP_NAME": "dancing-forest-1234"}
ROOT = Path(__file__).resolve().parents[2]

USERS_FILE = """\
# autoscalebot for the shop: tuned after the March sale
max_response_time_in_ms = 900   # p95 target, not the mean

increment   =   2
# quiet at night
min_dynos = 1

[max_dynos]  # peak hours
"0:00" = 2
"9:00" = 5
"""


def test_save_round_trips_atomically_and_privately(tmp_path):
    path = tmp_path / "sub" / "autoscalebot.toml"
    save_settings(path, {"MAX_RESPONSE_TIME_IN_MS": 800.0, "MAX_DYNOS": {"0:00": 2, "9:00": 5}})
    save_settings(path, {"INCREMENT": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s = load_settings(env=KEYS, config_path=path)
    assert s.max_response_time_in_ms == 800 and s.increment == 2
    assert s.max_dynos.to_raw() == {"0:00": 2, "9:00": 5}
    assert [p.name for p in path.parent.iterdir()] == ["autoscalebot.toml"]


def test_save_keeps_comments_layout_and_other_keys(tmp_path):
    path = tmp_path / "autoscalebot.toml"
    path.write_text(USERS_FILE)
    save_settings(path, {"INCREMENT": 3, "MAX_DYNOS": {"0:00": 2, "9:00": 6}})
    expected = USERS_FILE.replace("increment   =   2", "increment   =   3").replace(
        '"9:00" = 5', '"9:00" = 6'
    )
    assert path.read_text() == expected
    s = load_settings(env=KEYS, config_path=path)
    assert (s.increment, s.max_response_time_in_ms, s.min_dynos.to_raw()) == (3, 900, 1)
    assert s.max_dynos.to_raw() == {"0:00": 2, "9:00": 6}


def test_a_new_setting_is_added_and_a_default_removes_the_key(tmp_path):
    path = tmp_path / "autoscalebot.toml"
    path.write_text(USERS_FILE)
    save_settings(path, {"COOL_OFF_IN_SECONDS": 30.0, "MIN_DYNOS": None})
    text = path.read_text()
    assert "min_dynos" not in text and "# quiet at night" in text
    assert "# p95 target, not the mean" in text and "[max_dynos]  # peak hours" in text
    s = load_settings(env=KEYS, config_path=path)
    # The new key is a top-level key, not a slot in the [max_dynos] table.
    assert s.cool_off_in_seconds == 30 and s.max_dynos.to_raw() == {"0:00": 2, "9:00": 5}


def test_the_users_spelling_of_a_key_is_kept(tmp_path):
    path = tmp_path / "autoscalebot.toml"
    path.write_text("INCREMENT = 2  # upper case, as in the seed\n")
    save_settings(path, {"INCREMENT": 4})
    assert path.read_text() == "INCREMENT = 4  # upper case, as in the seed\n"


def test_save_writes_through_a_symlink_to_its_target(tmp_path):
    real = tmp_path / "dotfiles" / "autoscalebot.toml"
    real.parent.mkdir()
    real.write_text("# mine\nincrement = 2\n")
    link = tmp_path / "config" / "autoscalebot.toml"
    link.parent.mkdir()
    link.symlink_to(real)
    save_settings(link, {"INCREMENT": 5})
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "# mine\nincrement = 5\n"
    assert sorted(p.name for p in real.parent.iterdir()) == ["autoscalebot.toml"]


def test_save_keeps_an_existing_files_mode(tmp_path):
    path = tmp_path / "autoscalebot.toml"
    path.write_text("increment = 2\n")
    path.chmod(0o640)
    save_settings(path, {"INCREMENT": 3})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text() == "increment = 3\n"


def test_save_refuses_secrets_and_leaves_file_alone(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("increment = 2\n")
    with pytest.raises(ConfigError, match="secret"):
        save_settings(path, {"HEROKU_API_KEY": "abc"})
    assert path.read_text() == "increment = 2\n"


def test_save_leaves_a_broken_file_alone(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("increment = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_settings(path, {"INCREMENT": 3})
    assert path.read_text() == "increment = [\n"


def test_interrupted_save_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("increment = 2\n")

    def explode(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", explode)
    with pytest.raises(KeyboardInterrupt):
        save_settings(path, {"INCREMENT": 3})
    assert path.read_text() == "increment = 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.toml"]


CRASHING_SAVE = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from autoscalebot.config import save_settings

    def die(*args, **kwargs):
        os._exit(9)  # the process dies between writing and renaming: no cleanup runs

    os.replace = die
    save_settings(Path(sys.argv[1]), {"INCREMENT": 3})
    """
)


def test_a_save_after_a_crashed_save_leaves_no_tmp_files(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("# mine\nincrement = 2\n")
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SAVE, str(path)], cwd=ROOT, timeout=60, check=False
    )
    assert crashed.returncode == 9
    assert path.read_text() == "# mine\nincrement = 2\n"  # the old file is whole
    save_settings(path, {"INCREMENT": 4})
    assert [p.name for p in tmp_path.iterdir()] == ["c.toml"]
    assert path.read_text() == "# mine\nincrement = 4\n"


def test_whole_numbers_are_saved_whole(tmp_path):
    path = tmp_path / "autoscalebot.toml"
    save_settings(path, {"MIN_RESPONSE_TIME_IN_MS": 400.0, "HEARTBEAT_INTERVAL_IN_SECONDS": 2.5})
    text = path.read_text()
    assert "min_response_time_in_ms = 400\n" in text
    assert "heartbeat_interval_in_seconds = 2.5\n" in text
    read = load_settings(config_path=path, env={}, require_platform=False)
    assert read.min_response_time_in_ms == 400.0

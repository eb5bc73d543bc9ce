"""``manage.py run_autoscalebot`` end to end: the test site served by ``runserver`` on
loopback, the Heroku emulator pointing its ``web_url`` at it, and the bot in a
subprocess probing the Django heartbeat view and scaling through the emulator."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from testsite_runner import (
    clean_env,
    free_port,
    manage,
    start_manage,
    stop,
    wait_for_line,
    wait_for_ok,
)

from autoscalebot.emulator.heroku import HerokuEmulator

APP = "my-app-name"  # the test site's AUTOSCALE_HEROKU_APP_NAME
KEY = "1234567890abcdef1234567890abcdef"  # and its AUTOSCALE_HEROKU_API_KEY
# Every beat of a healthy local view is far under 5 s: a "pass" (too fast).
TOO_FAST = ["--set", "MIN_RESPONSE_TIME_IN_MS=5000", "--set", "MAX_RESPONSE_TIME_IN_MS=10000"]
FAST_BEATS = ["--set", "HEARTBEAT_INTERVAL_IN_SECONDS=0.2"]


def logfmt(text: str) -> list[dict[str, str]]:
    return [dict(pair.split("=", 1) for pair in shlex.split(line)) for line in text.splitlines()]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The test site under ``manage.py runserver`` on a loopback port (SQLite in a file)."""
    folder = tmp_path_factory.mktemp("site")
    port = free_port()
    env = clean_env(TESTSITE_DB=str(folder / "db.sqlite3"), XDG_CONFIG_HOME=str(folder / "xdg"))
    log = folder / "runserver.log"
    proc = start_manage("runserver", f"127.0.0.1:{port}", "--noreload", env=env, log=log)
    try:
        wait_for_ok(f"http://127.0.0.1:{port}/autoscalebot/heartbeat/", proc)
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", access_log=Path(f"{log}.err"))
    finally:
        stop(proc)


@pytest.fixture
def heroku(site):
    """The Heroku emulator with the test site's app at 2 web dynos, its web_url the site."""
    with HerokuEmulator(api_key=KEY) as emulator:
        emulator.add_app(APP, web_url=site.url, formation={"web": 2})
        yield emulator


@pytest.fixture
def bot_env(heroku, tmp_path):
    return clean_env(AUTOSCALE_HEROKU_API_URL=heroku.url, XDG_CONFIG_HOME=str(tmp_path / "xdg"))


def test_the_bot_probes_the_django_view_and_scales_down_through_the_emulator(site, heroku, bot_env):
    beats_before = site.access_log.read_text().count('GET /autoscalebot/heartbeat/ HTTP/1.1" 200')
    # The test site's MAX_DYNOS is {"0:00": 2, "9:00": 5, "17:00": 2} in UTC.
    max_now = "5" if 9 <= datetime.now(UTC).hour < 17 else "2"
    done = manage("run_autoscalebot", *FAST_BEATS, *TOO_FAST, "--duration", "4", env=bot_env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    events = logfmt(done.stdout)
    start = (
        events[0]
        if events[0]["event"] == "start"
        else next(e for e in events if e["event"] == "start")
    )
    assert (start["app"], start["dynos"], start["min"], start["max"]) == (
        f"{APP}/web",
        "2",
        "1",
        max_now,
    )
    beats = [e for e in events if e["event"] == "beat"]
    assert len(beats) >= 5
    assert all(b["status"] == "200" and b["outcome"] == "pass" for b in beats), beats
    [scale] = [e for e in events if e["event"] == "scale"]
    assert (scale["from"], scale["to"]) == ("2", "1")
    assert scale["reason"].startswith("5 beats under 5000 ms")
    assert events[-1]["event"] == "stop"
    # Exactly one PATCH, to one dyno, and the platform agrees.
    assert [p["quantity"] for p in heroku.patches(APP)] == [1]
    assert heroku.quantity(APP) == 1
    # The beats were the Django view's: runserver logged each of them.
    beats_after = site.access_log.read_text().count('GET /autoscalebot/heartbeat/ HTTP/1.1" 200')
    assert beats_after - beats_before >= len(beats)


def test_sigterm_stops_the_bot_at_once_with_status_0(heroku, bot_env, tmp_path):
    log = tmp_path / "bot.log"
    proc = start_manage(
        "run_autoscalebot", *FAST_BEATS, *TOO_FAST, "--dry-run", env=bot_env, log=log
    )
    try:
        decision = wait_for_line(log, "event=decision", proc)
        assert "action=dry-run" in decision and "to=1" in decision
        sent = time.monotonic()
        status = stop(proc)
        took = time.monotonic() - sent
    finally:
        stop(proc)
    assert status == 0
    assert took < 3
    assert logfmt(log.read_text())[-1]["event"] == "stop"
    assert "Traceback" not in Path(f"{log}.err").read_text()
    assert heroku.patches(APP) == []  # dry run: decided, never called the API
    assert heroku.quantity(APP) == 2


class FakeConsole:
    """Stands in for the Textual app: records how the command drives it."""

    made: list[FakeConsole] = []

    def __init__(self, settings, *, formations, config_path, duration):
        self.settings, self.config_path, self.duration = settings, config_path, duration
        self.formations = formations
        self.calls: list[str] = []
        FakeConsole.made.append(self)

    def prepare_engine(self):
        self.calls.append("prepare")

    def run(self):
        self.calls.append("run")
        return 0

    def stop_engine(self):
        self.calls.append("stop")


def test_console_gets_the_django_settings_and_is_stopped(monkeypatch, tmp_path):
    import autoscalebot.tui.app

    FakeConsole.made.clear()
    monkeypatch.setattr(autoscalebot.tui.app, "AutoscaleApp", FakeConsole)
    call_command("run_autoscalebot", "--console", "--set", "INCREMENT=2", "--duration", "5")
    [console] = FakeConsole.made
    assert console.calls == ["prepare", "run", "stop"]
    assert (console.settings.heroku_app_name, console.settings.increment) == (APP, 2)
    assert console.duration == 5.0
    assert list(console.formations) == [f"{APP}/web"]  # one engine per formation
    assert console.config_path == tmp_path / "xdg-config" / "autoscalebot" / "autoscalebot.toml"


def test_console_missing_says_so_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "autoscalebot.tui.app", None)
    with pytest.raises(CommandError) as caught:
        call_command("run_autoscalebot", "--console")
    assert str(caught.value).startswith("--console: the operator console cannot be loaded (")
    assert str(caught.value).endswith("Run without --console for the headless bot.")
    assert caught.value.returncode == 2


def test_version_names_autoscalebot_and_django():
    import django

    from autoscalebot import __version__

    done = manage("run_autoscalebot", "--version", env=clean_env())
    assert done.stdout == f"autoscalebot {__version__} (Django {django.get_version()})\n"

"""``autoscalebot-tui``: bad settings end before any screen; where edits are saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoscalebot.tui import cli
from autoscalebot.tui.app import AutoscaleApp
from tests.tui.tui_rig import make_settings


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[AutoscaleApp]:
    """The apps ``main`` would have run (no terminal is touched)."""
    apps: list[AutoscaleApp] = []

    def fake_run(self: AutoscaleApp, *args: Any, **kwargs: Any) -> int:
        apps.append(self)
        return 0

    monkeypatch.setattr(AutoscaleApp, "run", fake_run)
    return apps


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--demo", "--set", "MAX_DYNOS=x"], "MAX_DYNOS"),
        (["--demo", "--set", "SCALING_BACKEND=nowhere.Scaler"], "SCALING_BACKEND"),
        (["--demo", "--set", "MIN_RESPONSE_TIME_IN_MS=5000"], "MIN_RESPONSE_TIME_IN_MS"),
        (["--config", "/nonexistent/dir/x.toml", "--set", "HEROKU_APP_NAME=a"], "HEROKU_API_KEY"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2_before_the_screen(
    argv: list[str],
    names: str,
    launched: list[AutoscaleApp],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HEROKU_API_KEY", raising=False)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"autoscalebot-tui: error: {names}")
    assert launched == []


def test_demo_saves_only_to_a_named_config(tmp_path: Path, launched: list[AutoscaleApp]) -> None:
    assert cli.main(["--demo"]) == 0
    assert launched[-1].config_path is None
    new = tmp_path / "new.toml"  # need not exist yet: saving creates it
    assert cli.main(["--demo", "--config", str(new)]) == 0
    assert launched[-1].config_path == new
    assert not new.exists()


def test_without_config_edits_go_to_the_user_file(
    tmp_path: Path, launched: list[AutoscaleApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HEROKU_API_KEY", "k-from-env")
    monkeypatch.setenv("HEROKU_APP_NAME", "shop-web")
    assert cli.main([]) == 0
    assert launched[-1].config_path == tmp_path / "autoscalebot" / "autoscalebot.toml"
    assert launched[-1].runner is None  # nothing started: the screen never ran


def _crash_on_mount(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the real app crash as it starts, run headless (no terminal)."""
    run = AutoscaleApp.run

    def boom(self: AutoscaleApp) -> None:
        raise RuntimeError("a bug in a panel")

    def headless_run(self: AutoscaleApp, *args: Any, **kwargs: Any) -> Any:
        return run(self, *args, headless=True, **kwargs)

    monkeypatch.setattr(AutoscaleApp, "on_mount", boom)
    monkeypatch.setattr(AutoscaleApp, "run", headless_run)


def test_a_console_that_crashes_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # Textual's run() returns None after an unhandled error; return_code says 1.
    _crash_on_mount(monkeypatch)
    assert cli.main(["--demo"]) == 1


def test_the_django_command_fails_when_its_console_crashes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("django")
    from django.core.management import CommandError

    from autoscalebot.management.commands.run_autoscalebot import Command

    _crash_on_mount(monkeypatch)
    settings = make_settings()
    with pytest.raises(CommandError) as caught:
        Command().run_console(settings, {"config": tmp_path / "x.toml", "duration": None})
    assert caught.value.returncode == 1


MANY_TOML = """\
heroku_app_name = "shop"
heartbeat_interval_in_seconds = 30

[[formations]]
process_type = "web"

[[formations]]
process_type = "worker"
max_dynos = 8
"""


def test_standalone_with_formations_runs_an_engine_for_each(
    tmp_path: Path, launched: list[AutoscaleApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEROKU_API_KEY", "k-test-not-sent")
    config = tmp_path / "many.toml"
    config.write_text(MANY_TOML, "utf-8")
    assert cli.main(["--config", str(config), "--standalone"]) == 0
    app = launched[-1]
    assert list(app.formations) == ["shop/web", "shop/worker"]
    engines = [f.engine for f in app.formations.values()]
    assert all(engines) and engines[0] is not engines[1]
    assert app.formations["shop/worker"].settings.max_dynos.to_raw() == 8


def test_a_bad_formation_entry_is_one_line_naming_it_and_exit_2(
    tmp_path: Path,
    launched: list[AutoscaleApp],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HEROKU_API_KEY", "k-test-not-sent")
    config = tmp_path / "many.toml"
    config.write_text(MANY_TOML + "max_dynoz = 3\n", "utf-8")
    assert cli.main(["--config", str(config), "--standalone"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autoscalebot-tui: error: FORMATIONS[2].MAX_DYNOZ")
    assert err.count("\n") == 1 and launched == []


def test_with_formations_a_console_attaches_to_the_bot_already_running_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No accidental second bot: the bot of several formations is found by what it runs.
    import contextlib

    from tests.control.bot_rig import FleetBot

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("HEROKU_API_KEY", "k-test-not-sent")
    config = tmp_path / "many.toml"
    config.write_text(MANY_TOML, "utf-8")  # shop/web and shop/worker
    args = cli.parser().parse_args(["--config", str(config)])
    with contextlib.ExitStack() as stack:
        assert cli.attach_target(args, stack) is None  # no bot yet: standalone
    from autoscalebot.control.paths import runtime_dir

    bot = FleetBot(runtime_dir() / "formations.sock")
    try:
        with contextlib.ExitStack() as stack:
            assert cli.attach_target(args, stack) == bot.server.path
        standalone = cli.parser().parse_args(["--config", str(config), "--standalone"])
        with contextlib.ExitStack() as stack:
            assert cli.attach_target(standalone, stack) is None
    finally:
        bot.close()

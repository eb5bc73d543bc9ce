"""What both faces share: the command-line options, settings from them, and
the engine on its worker thread."""

from __future__ import annotations

import argparse
import os
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoscalebot import __version__
from autoscalebot.config import ConfigError, Settings, load_settings, parse_overrides
from autoscalebot.engine import events as ev
from autoscalebot.engine.engine import Engine

if TYPE_CHECKING:
    from autoscalebot.control.server import ControlServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options both ``autoscalebot`` and ``autoscalebot-tui`` take."""
    parser.add_argument(
        "--settings",
        metavar="MODULE",
        help="Python settings module with the seed's names (found on the current directory)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        help="TOML settings file (default: the per-user config file)",
    )
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one setting (repeatable), e.g. --set MAX_DYNOS=5",
    )
    parser.add_argument(
        "--interval",
        metavar="SECONDS",
        help="shorthand for --set HEARTBEAT_INTERVAL_IN_SECONDS=SECONDS",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="decide and log, but never call the scaling API"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run on this machine against a simulated app and the Heroku emulator (no account needed)",
    )
    parser.add_argument(
        "--duration", metavar="SECONDS", type=float, help="stop by itself after this many seconds"
    )
    parser.add_argument("--version", action="version", version=f"autoscalebot {__version__}")


def resolve_settings(
    args: argparse.Namespace,
    stack: ExitStack,
    *,
    allow_missing_config: bool = False,
    django_settings: Any = None,
) -> Settings:
    """Settings from the parsed options (starting the demo world if asked).

    With ``django_settings``, its ``AUTOSCALE_`` names take the settings
    module's place (``manage.py run_autoscalebot``).
    """
    overrides: dict[str, Any] = parse_overrides(args.overrides)
    if args.interval is not None:
        overrides |= parse_overrides([f"HEARTBEAT_INTERVAL_IN_SECONDS={args.interval}"])
    if args.dry_run:
        overrides["DRY_RUN"] = True
    if args.duration is not None and not args.duration > 0:  # "not >" also refuses nan
        raise ConfigError("--duration", f"{args.duration:g} is not a positive number of seconds")
    base = None
    env: dict[str, str] | None = None
    if getattr(args, "demo", False):
        from autoscalebot.demo import DemoWorld

        world = stack.enter_context(DemoWorld())
        base = world.settings()
        env = {}  # the demo never picks up a real key or app from the environment
    return load_settings(
        settings_module=None if django_settings is not None else args.settings,
        django_settings=django_settings,
        config_path=args.config,
        base=base,
        env=env if env is not None else dict(os.environ),
        overrides=overrides,
        allow_missing_config=allow_missing_config,
    )


class EngineThread:
    """Runs an engine on a daemon thread; stopping never waits on the network.

    The thread is a daemon so that a beat stuck mid-request cannot hold the
    process: ``stop()`` waits up to ``timeout`` and then lets it go.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.thread = threading.Thread(target=engine.run, name="autoscalebot-engine", daemon=True)

    def start(self) -> EngineThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 1.0, reason: str = "stopped") -> bool:
        """Ask the engine to stop; True if its thread ended within ``timeout``."""
        self.engine.stop(reason)
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


def build_engine(settings: Settings, sink: ev.Sink) -> Engine:
    """The engine with the backends its settings name."""
    return Engine(settings, sink=sink)


def fan_out(*sinks: ev.Sink) -> ev.Sink:
    """One sink that hands each event to every sink in turn."""

    def sink(event: ev.Event) -> None:
        for each in sinks:
            each(event)

    return sink


def ephemeral_filesystem(env: dict[str, str] | None = None) -> str | None:
    """Why files this bot writes will not outlive it, or None where they will."""
    env = dict(os.environ) if env is None else env
    if env.get("DYNO"):
        return "a Heroku dyno's filesystem is reset at every restart"
    return None


def open_control(
    settings: Settings, *, config_path: Path | None, demo: bool = False
) -> ControlServer:
    """Bind the bot's control socket (its path is in ``.path``); raises ConfigError
    when another bot already serves the same formation here."""
    from autoscalebot.config.edits import pinned, save_edit
    from autoscalebot.control.paths import default_socket, formation_id, runtime_dir
    from autoscalebot.control.server import ControlServer, Formation

    fid = formation_id(settings)
    if demo and not settings.control_socket:
        # Every demo is its own world: two at once must not refuse each other.
        path = runtime_dir() / f"demo-{os.getpid()}.sock"
    else:
        path = default_socket(settings)
    lost = ephemeral_filesystem()
    if config_path is None:
        note = "Applied by the bot at once; not saved (it has no --config file): the edit lasts until the bot stops."
    elif lost:
        note = (
            f"Applied by the bot at once; {lost}, so the edit lasts until the bot restarts "
            "(set AUTOSCALE_<NAME> in the app's config vars to keep it)."
        )
    else:
        note = f"Applied by the bot at once and saved where its config lives: {config_path}."
    pins = pinned(settings)

    def saver(changes: Any) -> tuple[bool, str]:
        if lost or config_path is None:
            return False, "not saved: the edit lasts until the bot restarts"
        # The values as the bot parsed them ("500" from ctl is the number 500).
        applied = server.engine.settings
        typed = {name.upper(): applied.value(name.upper()) for name in changes}
        outcome = save_edit(config_path, applied, typed, pins)
        return outcome.saved, outcome.message

    server = ControlServer(
        path,
        Formation(
            id=fid,
            app=fid.split("/", 1)[0],
            process_type=fid.split("/", 1)[-1],
            platform=settings.scaling_backend.rsplit(".", 1)[-1],
            config_note=note,
        ),
        saver=saver,
    )
    return server.bind()


def serve_engine(
    settings: Settings,
    sink: ev.Sink,
    stack: ExitStack,
    *,
    config_path: Path | None,
    demo: bool = False,
) -> Engine:
    """The engine, with its control socket open and announced on ``sink``.

    The socket closes when ``stack`` does. Raises ConfigError (a bad backend,
    or another bot already serving this formation here).
    """
    from datetime import UTC, datetime

    control = open_control(settings, config_path=config_path, demo=demo)
    stack.callback(control.close)
    engine = build_engine(settings, fan_out(sink, control.publish))
    control.start(engine)
    sink(ev.Listening(datetime.now(UTC), str(control.path), control.formation.id))
    return engine

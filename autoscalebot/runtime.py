"""What both faces share: the command-line options, settings from them, and
the engine on its worker thread."""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoscalebot import __version__
from autoscalebot.config import ConfigError, Settings, load_settings, parse_overrides
from autoscalebot.engine import events as ev
from autoscalebot.engine.engine import Engine

if TYPE_CHECKING:
    from autoscalebot.control.server import ControlServer
    from autoscalebot.engine.fleet import Fleet
    from autoscalebot.history import History
    from autoscalebot.logfmt import LogfmtSink
    from autoscalebot.metrics import MetricsSink


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
    """Runs an engine (or a :class:`Fleet` of them) on a daemon thread; stopping
    never waits on the network.

    The thread is a daemon so that a beat stuck mid-request cannot hold the
    process: ``stop()`` waits up to ``timeout`` and then lets it go.
    """

    def __init__(self, engine: Engine | Fleet) -> None:
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


def ephemeral_filesystem(env: dict[str, str] | None = None) -> str | None:
    """Why files this bot writes will not outlive it, or None where they will."""
    env = dict(os.environ) if env is None else env
    if env.get("DYNO"):
        return "a Heroku dyno's filesystem is reset at every restart"
    return None


def open_control(
    top: Settings,
    formations: Mapping[str, Settings],
    *,
    config_path: Path | None,
    demo: bool = False,
) -> ControlServer:
    """Bind the bot's control socket (its path is in ``.path``); raises ConfigError
    when another bot on this machine already serves one of these formations."""
    from autoscalebot.config.edits import pinned, save_edit
    from autoscalebot.control.paths import default_socket, runtime_dir
    from autoscalebot.control.server import ControlServer, Formation

    if demo and not top.control_socket:
        # Every demo is its own world: two at once must not refuse each other.
        path = runtime_dir() / f"demo-{os.getpid()}.sock"
    elif len(formations) == 1:
        path = default_socket(next(iter(formations.values())))
    else:
        path = Path(top.control_socket) if top.control_socket else runtime_dir() / "formations.sock"
    _refuse_a_second_bot(path, formations)
    lost = ephemeral_filesystem()
    single = len(formations) == 1
    saves = config_path is not None and single and not lost
    if config_path is None:
        note = "Applied by the bot at once; not saved (it has no --config file): the edit lasts until the bot stops."
    elif not single:
        note = (
            "Applied by the bot at once, to this formation only; not saved (edit its entry "
            f"in FORMATIONS in {config_path} to keep it)."
        )
    elif lost:
        note = (
            f"Applied by the bot at once; {lost}, so the edit lasts until the bot restarts "
            "(set AUTOSCALE_<NAME> in the app's config vars to keep it)."
        )
    else:
        note = f"Applied by the bot at once and saved where its config lives: {config_path}."
    pins = pinned(top)

    def saver(fid: str, changes: Any) -> tuple[bool, str]:
        if not saves:
            return False, "not saved: the edit lasts until the bot restarts"
        assert config_path is not None
        # The values as the bot parsed them ("500" from ctl is the number 500).
        applied = server.engines[fid].settings
        typed = {name.upper(): applied.value(name.upper()) for name in changes}
        outcome = save_edit(config_path, applied, typed, pins)
        return outcome.saved, outcome.message

    server = ControlServer(
        path,
        [
            Formation(
                id=fid,
                app=fid.split("/", 1)[0],
                process_type=fid.split("/", 1)[-1],
                platform=settings.scaling_backend.rsplit(".", 1)[-1],
                config_note=note,
            )
            for fid, settings in formations.items()
        ],
        saver=saver,
    )
    return server.bind()


def _refuse_a_second_bot(path: Path, formations: Mapping[str, Settings]) -> None:
    """One bot per formation on a machine: two would undo each other's scaling."""
    from autoscalebot.control.client import running_bots
    from autoscalebot.control.server import SocketInUse

    for other, hello in running_bots(path.parent):
        if other == path:
            continue  # binding says so, naming the pid
        shared = sorted(set(hello.formations) & set(formations))
        if shared:
            raise SocketInUse(
                "CONTROL_SOCKET",
                f"another bot (pid {hello.pid}) already runs {', '.join(shared[:5])} "
                f"and serves {other}",
                "Attach to it with 'autoscalebot-tui --attach', or stop it first "
                "(one bot per formation: two would undo each other's scaling).",
            )


def serve_fleet(
    top: Settings,
    formations: Mapping[str, Settings],
    sink_for: Callable[[str], ev.Sink],
    stack: ExitStack,
    *,
    config_path: Path | None,
    demo: bool = False,
) -> Fleet:
    """One engine per formation, their control socket open and announced.

    ``sink_for(formation id)`` gives each engine's own sink (logfmt with
    ``formation=``, metrics...); the socket closes when ``stack`` does. Raises
    ConfigError (a bad backend, another bot already serving a formation here).
    """
    from datetime import UTC, datetime

    from autoscalebot.engine.fleet import Fleet

    control = open_control(top, formations, config_path=config_path, demo=demo)
    stack.callback(control.close)
    engines = {
        fid: build_engine(settings, ev.fan_out(sink_for(fid), control.sink_for(fid)))
        for fid, settings in formations.items()
    }
    control.start(engines)
    first = sink_for(next(iter(formations)))
    first(ev.Listening(datetime.now(UTC), str(control.path), tuple(formations)))
    return Fleet(engines)


def headless_sinks(
    log: LogfmtSink, metrics: MetricsSink | None, history: History | None = None
) -> Callable[[str], ev.Sink]:
    """Each formation's sink for a headless bot: its logfmt lines (``formation=``),
    its Prometheus metrics when they are served, its rows in the local history."""

    def sink_for(fid: str) -> ev.Sink:
        sinks = [log.sink_for(fid)]
        if metrics is not None:
            sinks.append(metrics.sink_for(fid))
        if history is not None:
            sinks.append(history.sink_for(fid))
        return sinks[0] if len(sinks) == 1 else ev.fan_out(*sinks)

    return sink_for


def open_history(settings: Settings, stack: ExitStack) -> History | None:
    """The bot's local history (closed with ``stack``), or None when
    ``HISTORY_MAX_MB`` is 0 or the file cannot be had (said on stderr: the bot
    runs on without it)."""
    if not settings.history_max_mb:
        return None
    import logging
    import sqlite3

    from autoscalebot.history import History

    try:
        history = History.open(max_bytes=int(settings.history_max_mb * 1024 * 1024))
    except (OSError, sqlite3.Error) as exc:
        logging.getLogger(__name__).warning("no history kept: %s", exc)
        return None
    stack.callback(history.close)
    return history


def serve_headless(
    settings: Settings,
    log: LogfmtSink,
    stack: ExitStack,
    *,
    config_path: Path | None,
    demo: bool = False,
) -> Fleet:
    """The headless bot, as ``autoscalebot`` and ``run_autoscalebot`` run it: every
    formation of ``settings``, logging to ``log``, with its Prometheus endpoint
    (``METRICS_PORT``), its history (not for the demo) and its control socket,
    all closed with ``stack``. Raises ConfigError."""
    from autoscalebot.config.formations import formations_of
    from autoscalebot.metrics import serving_metrics

    metrics = stack.enter_context(serving_metrics(settings))
    history = None if demo else open_history(settings, stack)
    fleet = serve_fleet(
        settings,
        formations_of(settings),
        headless_sinks(log, metrics, history),
        stack,
        config_path=config_path,
        demo=demo,
    )
    if history is not None:
        prime_policies(history, fleet, log)
    return fleet


def prime_policies(history: History, fleet: Fleet, log: LogfmtSink) -> None:
    """Before the first beat: each policy that learns what repeats (the adaptive
    one) starts with the load recorded before this start, said in one line."""
    from datetime import UTC, datetime

    from autoscalebot.history import prime_from_history

    for fid, engine in fleet.engines.items():
        minutes = prime_from_history(history, engine, fid)
        if minutes is not None:
            log.note("history", datetime.now(UTC), fid, learnt_minutes=minutes)

"""``autoscalebot-tui``: the operator console.

Takes the same settings sources and flags as ``autoscalebot``. Bad settings
print one line naming the setting and exit 2, before the screen starts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack
from pathlib import Path

from autoscalebot.config import ConfigError, Settings, default_config_path
from autoscalebot.config.formations import formations_of
from autoscalebot.runtime import add_arguments, resolve_settings
from autoscalebot.secrets import install_log_scrubber

USAGE_ERROR = 2


def parser() -> argparse.ArgumentParser:
    """The console's options (the headless CLI's, shared through ``add_arguments``)."""
    p = argparse.ArgumentParser(
        prog="autoscalebot-tui",
        description="Watch and steer the autoscaling bot: live latency, streaks, dynos and a log; "
        "keys to pause, force a scale and edit thresholds (saved to the TOML file). "
        "A bot of several formations (FORMATIONS) opens on an overview of them.",
        epilog="Edits are saved to --config PATH, or to the per-user file "
        f"({default_config_path()}); with --demo, only to --config PATH.",
    )
    add_arguments(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--attach",
        nargs="?",
        const="",
        metavar="SOCKET",
        help="steer the bot that is already running (default: its socket in the user's "
        "runtime folder, or CONTROL_SOCKET); no engine of the console's own",
    )
    how.add_argument(
        "--standalone",
        action="store_true",
        help="run an engine of the console's own even when a bot already runs this formation "
        "(to try settings; --demo is always standalone)",
    )
    return p


NO_BOT = 3


def attach_target(args: argparse.Namespace, stack: ExitStack) -> Path | None:
    """The socket to attach to, or None to run standalone. Raises NoBot for an
    explicit --attach that finds no bot, ConfigError for bad settings."""
    from autoscalebot.control.ctl import find_socket
    from autoscalebot.control.paths import answers, default_socket

    if args.attach:
        return Path(args.attach).expanduser()
    if args.attach is not None:
        return find_socket(None)
    if args.standalone or args.demo:
        return None
    # No accidental second bot: one already runs this formation here, so steer it.
    settings = resolve_settings(args, stack, allow_missing_config=True)
    formations = formations_of(settings)
    if len(formations) == 1:
        path = default_socket(settings)
        return path if answers(path) else None
    return _bot_of_any(settings, set(formations))


def _bot_of_any(settings: Settings, formations: set[str]) -> Path | None:
    """The socket of a bot on this machine that already runs one of ``formations``."""
    from autoscalebot.control.client import running_bots
    from autoscalebot.control.paths import answers

    if settings.control_socket:
        configured = Path(str(settings.control_socket)).expanduser()
        if answers(configured):
            return configured
    return next(
        (path for path, hello in running_bots() if formations & set(hello.formations)), None
    )


def run_attached(path: Path, args: argparse.Namespace, *, automatic: bool) -> int:
    """The console over the running bot at ``path``."""
    from autoscalebot.config import SPEC, build_settings
    from autoscalebot.control.client import Connection, NoBot
    from autoscalebot.tui.app import AutoscaleApp

    try:
        conn = Connection(path)
    except NoBot as exc:
        print(f"autoscalebot-tui: {exc}", file=sys.stderr)
        return NO_BOT
    conn.close()
    hello = conn.hello
    if automatic:
        runs = (
            hello.formation if len(hello.formations) == 1 else f"{len(hello.formations)} formations"
        )
        print(
            f"autoscalebot-tui: a bot already runs {runs} (pid {hello.pid}); "
            "attaching to it (--standalone runs an engine of the console's own).",
            file=sys.stderr,
        )
    # Secrets stay with the bot: marked as held there, so edits validate without them.
    origins = hello.origins | {spec.name: "bot" for spec in SPEC if spec.secret}
    try:
        settings = build_settings(hello.settings, origins=origins, require_platform=False)
    except ConfigError:  # a bot of another version: show what we can
        settings = build_settings({}, require_platform=False)
    app = AutoscaleApp(settings, attach=path, hello=hello, duration=args.duration)
    status = app.run()
    if status is None:
        status = app.return_code
    return 1 if status else 0


def main(argv: list[str] | None = None) -> int:
    """Run the console; returns the exit status."""
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    from textual.logging import TextualHandler

    # Library warnings go to Textual's log, not over the screen.
    logging.basicConfig(level=logging.WARNING, handlers=[TextualHandler()])
    from autoscalebot.tui.app import STOP_TIMEOUT, AutoscaleApp

    app: AutoscaleApp | None = None

    def stop_engine() -> None:
        if app is not None:
            app.stop_engine(STOP_TIMEOUT)

    from autoscalebot.control.client import NoBot

    if args.attach is not None and args.demo:
        print(
            "autoscalebot-tui: error: --attach steers a running bot; --demo runs its own",
            file=sys.stderr,
        )
        return USAGE_ERROR
    try:
        with ExitStack() as probe_stack:
            target = attach_target(args, probe_stack)
    except NoBot as exc:
        print(f"autoscalebot-tui: {exc}", file=sys.stderr)
        return NO_BOT
    except ConfigError as exc:
        print(f"autoscalebot-tui: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if target is not None:
        return run_attached(target, args, automatic=args.attach is None)
    with ExitStack() as stack:
        # Registered first, so it runs last: after the demo world has stopped,
        # which also answers any heartbeat in flight, so the engine ends at once.
        stack.callback(stop_engine)
        try:
            settings = resolve_settings(args, stack, allow_missing_config=True)
            install_log_scrubber(settings)  # secrets masked in every log line
            # The demo never writes the user's own file unless asked to.
            config_path = args.config or (None if args.demo else default_config_path())
            # FORMATIONS: one engine each, on one thread (the demo is one formation).
            formations = None if args.demo else formations_of(settings)
            app = AutoscaleApp(
                settings,
                formations=formations,
                config_path=config_path,
                duration=args.duration,
                stop_timeout=0.0,
            )
            app.prepare_engine()
            if not args.demo:
                app.preload_history()  # what the bot recorded before, until live beats follow
        except ConfigError as exc:
            print(f"autoscalebot-tui: error: {exc}", file=sys.stderr)
            return USAGE_ERROR
        status = app.run()
        # After an unhandled error Textual's run() returns None and sets
        # return_code to 1: a crash must not look like a clean exit.
        if status is None:
            status = app.return_code
        return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())

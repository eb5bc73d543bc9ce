"""``autoscalebot-tui``: the operator console.

Takes the same settings sources and flags as ``autoscalebot``. Bad settings
print one line naming the setting and exit 2, before the screen starts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack

from autoscalebot.config import ConfigError, default_config_path
from autoscalebot.runtime import add_arguments, resolve_settings

USAGE_ERROR = 2


def parser() -> argparse.ArgumentParser:
    """The console's options (the headless CLI's, shared through ``add_arguments``)."""
    p = argparse.ArgumentParser(
        prog="autoscalebot-tui",
        description="Watch and steer the autoscaling bot: live latency, streaks, dynos and a log; "
        "keys to pause, force a scale and edit thresholds (saved to the TOML file).",
        epilog="Edits are saved to --config PATH, or to the per-user file "
        f"({default_config_path()}); with --demo, only to --config PATH.",
    )
    add_arguments(p)
    return p


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

    with ExitStack() as stack:
        # Registered first, so it runs last: after the demo world has stopped,
        # which also answers any heartbeat in flight, so the engine ends at once.
        stack.callback(stop_engine)
        try:
            settings = resolve_settings(args, stack, allow_missing_config=True)
            # The demo never writes the user's own file unless asked to.
            config_path = args.config or (None if args.demo else default_config_path())
            app = AutoscaleApp(
                settings, config_path=config_path, duration=args.duration, stop_timeout=0.0
            )
            app.prepare_engine()
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

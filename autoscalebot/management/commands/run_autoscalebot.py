"""``manage.py run_autoscalebot``: the bot, configured from this project's settings.

Settings are the ``AUTOSCALE_``-prefixed names in Django's settings (and
Django's ``TIME_ZONE``), then the TOML file, the environment and ``--set``,
exactly as for the ``autoscalebot`` command. Logs one logfmt line per event on
stdout; exits 0 on SIGTERM or Ctrl-C, and 2 with one line on bad settings.
"""

from __future__ import annotations

import argparse
import logging
from contextlib import ExitStack
from typing import Any

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from autoscalebot import __version__
from autoscalebot.cli import USAGE_ERROR, run_headless
from autoscalebot.config import ConfigError, Settings, default_config_path
from autoscalebot.config.formations import formations_of
from autoscalebot.logfmt import LogfmtSink
from autoscalebot.runtime import EngineThread, add_arguments, resolve_settings, serve_headless

# Django owns --settings (the Django settings module) and --version; the demo
# would ignore the project's settings, so the command has no --demo.
_NOT_HERE = frozenset({"--settings", "--version", "--demo"})


class _SharedOptions:
    """Lets ``runtime.add_arguments`` add the shared options, minus those above."""

    def __init__(self, parser: CommandParser) -> None:
        self._parser = parser

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action | None:
        if _NOT_HERE.intersection(names):
            return None
        return self._parser.add_argument(*names, **kwargs)


class Command(BaseCommand):
    help = (
        "Run autoscalebot with this project's AUTOSCALE_ settings: headless, one logfmt "
        "line per event on stdout, until SIGTERM or Ctrl-C (or --duration)."
    )

    def get_version(self) -> str:
        import django

        return f"autoscalebot {__version__} (Django {django.get_version()})"

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(_SharedOptions(parser))  # type: ignore[arg-type]
        parser.add_argument(
            "--console",
            action="store_true",
            help="open the operator console (as autoscalebot-tui) instead of logging",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            settings = self.settings_from(options)
            if options["console"]:
                self.run_console(settings, options)
                return
            sink = LogfmtSink(self.stdout)
        except ConfigError as exc:
            # The same one line as the CLI's "autoscalebot: error: ...", and its exit status.
            raise CommandError(str(exc), returncode=USAGE_ERROR) from None
        with ExitStack() as stack:
            try:
                # The control channel, as the headless CLI serves it: consoles attach here.
                fleet = serve_headless(
                    settings, sink, stack, config_path=options["config"] or default_config_path()
                )
            except ConfigError as exc:
                raise CommandError(str(exc), returncode=USAGE_ERROR) from None
            run_headless(EngineThread(fleet), sink, duration=options["duration"])

    def settings_from(self, options: dict[str, Any]) -> Settings:
        """Django's AUTOSCALE_ settings < TOML < environment < these options."""
        # options["settings"] is Django's own --settings, not a bot settings module.
        args = argparse.Namespace(**{**options, "settings": None, "demo": False})
        with ExitStack() as stack:
            return resolve_settings(
                args,
                stack,
                django_settings=django_settings,
                # The console creates the TOML file on its first save.
                allow_missing_config=bool(options.get("console")),
            )

    def run_console(self, settings: Settings, options: dict[str, Any]) -> None:
        """The operator console over the same settings (as ``autoscalebot-tui`` runs it)."""
        try:
            from textual.logging import TextualHandler

            from autoscalebot.tui.app import AutoscaleApp
        except ImportError as exc:
            raise CommandError(
                f"--console: the operator console cannot be loaded ({exc}). "
                "Run without --console for the headless bot.",
                returncode=USAGE_ERROR,
            ) from None
        # Edits are saved where autoscalebot-tui saves them.
        config_path = options["config"] or default_config_path()
        try:
            app = AutoscaleApp(
                settings,
                formations=formations_of(settings),  # AUTOSCALE_FORMATIONS: one engine each
                config_path=config_path,
                duration=options["duration"],
            )
            app.prepare_engine()  # a bad backend path: ConfigError, before the screen starts
        except ConfigError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from None
        # Library warnings go to Textual's log while the console owns the terminal.
        handler = TextualHandler()
        logging.getLogger().addHandler(handler)
        try:
            status = app.run()
        finally:
            app.stop_engine()
            logging.getLogger().removeHandler(handler)
        # After an unhandled error Textual's run() returns None and sets
        # return_code to 1: a crash must not look like a clean exit.
        if status is None:
            status = app.return_code
        if status:
            raise CommandError("the console ended with an error", returncode=1)

"""``autoscalebot``: the headless face (worker dyno, cron box, laptop).

Logs one logfmt line per event on stdout and exits 0 on SIGTERM or Ctrl-C,
within about a second even mid-request. Bad settings print one line naming
the setting and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from autoscalebot.config import ConfigError, default_config_path
from autoscalebot.engine.events import Stopped
from autoscalebot.logfmt import LogfmtSink
from autoscalebot.runtime import EngineThread, add_arguments, resolve_settings, serve_headless
from autoscalebot.secrets import install_log_scrubber

USAGE_ERROR = 2
DEMO_SECONDS = 600.0
"""How long ``--demo`` runs unless ``--duration`` says otherwise."""
# Seconds a scale call in flight at SIGTERM may take to answer before exit.
SCALE_GRACE = 4.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autoscalebot",
        description="Keep a web app's dyno count right-sized from its heartbeat latency.",
        epilog="Also: 'autoscalebot ctl --help' (one command to the running bot), "
        "'autoscalebot simulate --help' (backtest settings on a load trace), "
        "'autoscalebot emulate --help' (loopback emulators), "
        "'autoscalebot-tui' (the operator console; --attach steers the running bot).",
    )
    add_arguments(p)
    p.add_argument(
        "--headless",
        action="store_true",
        help="run without the console (the default for this command)",
    )
    return p


EMULATORS = {
    "heroku": "the Heroku Platform API (apps, formation, rate limits)",
    "kubernetes": "the Kubernetes API (Deployments and their scale)",
    "heartbeat": "a heartbeat URL with a latency and status you control",
}


def emulate(argv: list[str]) -> int:
    """``autoscalebot emulate NAME ...``: one of the loopback emulators."""
    p = argparse.ArgumentParser(
        prog="autoscalebot emulate",
        description="Serve an emulator on loopback, for trying the bot without an account.",
        epilog="Each has its own options: 'autoscalebot emulate NAME --help'.",
    )
    p.add_argument(
        "name",
        choices=sorted(EMULATORS),
        metavar="NAME",
        help=", ".join(f"{name}: {what}" for name, what in EMULATORS.items()),
    )
    if not argv or argv[0].startswith("-"):
        p.parse_args(argv)  # --help, or a usage error naming what is missing
        return USAGE_ERROR
    name, rest = argv[0], argv[1:]
    p.parse_args([name])  # an unknown name: a usage error listing the three
    prog = f"autoscalebot emulate {name}"
    if name == "heroku":
        from autoscalebot.emulator.heroku import main as run
    elif name == "kubernetes":
        from autoscalebot.emulator.kubernetes import main as run
    else:
        from autoscalebot.emulator.heartbeat import main as run
    return run(rest, prog=prog)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulate"]:
        return emulate(argv[1:])
    if argv[:1] == ["simulate"]:
        from autoscalebot.sim.cli import main as simulate

        return simulate(argv[1:])
    if argv[:1] == ["ctl"]:
        from autoscalebot.control.ctl import main as ctl

        return ctl(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    sink = LogfmtSink(sys.stdout)
    with ExitStack() as stack:
        try:
            settings = resolve_settings(args, stack)
            install_log_scrubber(settings)  # secrets masked in every log line
            # The demo never writes the user's own file unless asked to.
            config_path = args.config or (None if args.demo else default_config_path())
            fleet = serve_headless(settings, sink, stack, config_path=config_path, demo=args.demo)
        except ConfigError as exc:
            print(f"autoscalebot: error: {exc}", file=sys.stderr)
            return USAGE_ERROR
        duration = args.duration or (DEMO_SECONDS if args.demo else None)
        if args.demo:
            print(
                f"autoscalebot: the demo runs {_length(duration)} (--duration SECONDS to change); "
                "Ctrl-C stops it. Watch it live: autoscalebot-tui --attach (another terminal).",
                file=sys.stderr,
                flush=True,
            )
        return run_headless(EngineThread(fleet), sink, duration=duration)


def _length(seconds: float) -> str:
    """``10 min`` or ``30 s``, as a person says it."""
    return f"{seconds / 60:.3g} min" if seconds >= 120 else f"{seconds:.3g} s"


def run_headless(runner: EngineThread, sink: LogfmtSink, *, duration: float | None = None) -> int:
    """Run until SIGTERM, Ctrl-C, the engine ending, or ``duration`` seconds."""
    stop = threading.Event()
    reason = {"why": "duration"}

    def on_signal(signum: int, frame: object) -> None:
        reason["why"] = signal.Signals(signum).name
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        runner.start()
        deadline = None if duration is None else time.monotonic() + duration
        while not stop.is_set() and runner.alive:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            stop.wait(0.2 if left is None else min(0.2, left))
        # A heartbeat in flight is abandoned after a second; a scale call in
        # flight (now, or starting while we wait) gets a few seconds to answer,
        # so its outcome is logged (Heroku allows 30 s before SIGKILL).
        started = time.monotonic()
        runner.engine.stop(reason["why"])
        while runner.alive:
            waited = time.monotonic() - started
            limit = SCALE_GRACE if runner.engine.in_flight_scale is not None else 1.0
            if waited >= limit:
                break
            runner.join(min(0.05, limit - waited))
        if runner.alive:
            in_flight = runner.engine.in_flight_scale
            what = (
                f"a scale to {in_flight} got no answer in time; the next start reads the real count"
                if in_flight is not None
                else "a heartbeat was in flight"
            )
            # The engine cannot say it stopped while stuck: say it for it.
            sink(Stopped(at=datetime.now(UTC), reason=f"{reason['why']} ({what})"))
        # A crashed engine exits non-zero, so a supervisor restarts it.
        return 1 if runner.engine.crashed else 0
    finally:
        # Restored, so an in-process caller (call_command in a test) keeps its Ctrl-C.
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())

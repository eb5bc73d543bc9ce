"""Regenerate screenshots/*.svg from the real demo.

Runs ``autoscalebot-tui --demo`` in-process (the simulated app and the Heroku
emulator on loopback, the real probe and client on the engine's thread) at
100x30, waits until the bot has scaled up, and saves:

- screenshots/dashboard.svg        the console after the scale-up
- screenshots/edit-thresholds.svg  the threshold editor
- screenshots/paused.svg           automatic scaling paused by the operator
- screenshots/overview.svg         the overview of a bot of three formations
                                   (three demo worlds, one FORMATIONS entry each)

Usage: python scripts/screenshots.py [--out screenshots] [--timeout 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from autoscalebot.config import build_settings
from autoscalebot.config.formations import formations_of
from autoscalebot.demo import DEMO_KEY, DemoWorld, LoadStory
from autoscalebot.engine.events import Scaled
from autoscalebot.runtime import add_arguments, resolve_settings
from autoscalebot.tui.app import AutoscaleApp
from autoscalebot.tui.dialogs import ThresholdsDialog

SIZE = (100, 30)


async def _until(pilot: object, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        await pilot.pause(0.1)  # type: ignore[attr-defined]


async def shoot(out: Path, timeout: float) -> list[Path]:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    saved: list[Path] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        # A relative path, so the editor's "saved to ..." reads as a user would write it.
        stack.callback(os.chdir, os.getcwd())
        os.chdir(tmp)
        args = parser.parse_args(["--demo", "--config", "autoscalebot.toml"])
        settings = resolve_settings(args, stack, allow_missing_config=True)
        app = AutoscaleApp(settings, config_path=args.config)
        async with app.run_test(size=SIZE) as pilot:
            await _until(
                pilot,
                lambda: any(line.tone == "up" for line in app.event_log.recent),
                timeout,
                "a scale-up",
            )
            beats = app.status
            await _until(pilot, lambda: app.status is not beats, 5, "the next status")
            await pilot.pause(4.5)  # a few beats more: the new dyno boots, latency falls
            saved.append(Path(app.save_screenshot("dashboard.svg", str(out))))

            await pilot.press("e")
            await _until(pilot, lambda: isinstance(app.screen, ThresholdsDialog), 5, "the editor")
            await pilot.pause()
            saved.append(Path(app.save_screenshot("edit-thresholds.svg", str(out))))
            await pilot.press("escape")

            await pilot.press("p")
            await _until(
                pilot, lambda: app.status is not None and app.status.paused, 5, "the pause"
            )
            await pilot.pause(2.5)  # the chart goes on while paused
            saved.append(Path(app.save_screenshot("paused.svg", str(out))))
            await pilot.press("q")
    saved.append(await shoot_overview(out, timeout))
    for path in saved:
        if DEMO_KEY in path.read_text("utf-8"):
            raise AssertionError(f"{path} shows the API key")
    return saved


FLEET = (
    # (formation name, its load: calm and surge requests per second, when the surge starts)
    ("shop/web", LoadStory(calm_rps=6.0, surge_rps=24.0, surge_start=4.0)),
    ("shop/api", LoadStory(calm_rps=5.0, surge_rps=9.0, surge_start=30.0)),
    ("blog/web", LoadStory(calm_rps=2.0, surge_rps=3.0, surge_start=40.0)),
)


async def shoot_overview(out: Path, timeout: float) -> Path:
    """The overview of three formations, each on a demo world of its own, once
    the shop's web has scaled up and the blog is paused by the operator."""
    with ExitStack() as stack:
        worlds = [stack.enter_context(DemoWorld(story=story)) for _, story in FLEET]
        entries = [
            {"NAME": name, "HEROKU_API_URL": world.emulator.url}
            for (name, _), world in zip(FLEET, worlds, strict=True)
        ]
        settings = build_settings(worlds[0].settings() | {"FORMATIONS": entries})
        app = AutoscaleApp(settings, formations=formations_of(settings))
        async with app.run_test(size=SIZE) as pilot:
            await _until(
                pilot,
                lambda: any(isinstance(e, Scaled) for e in app.formations["shop/web"].events),
                timeout,
                "the shop's web to scale up",
            )
            overview = app.overview
            assert overview is not None
            overview.select("blog/web")
            await pilot.press("p")
            await _until(pilot, lambda: app.formations["blog/web"].paused, 5, "the pause")
            overview.select("shop/web")
            await pilot.pause(2.5)  # a few beats more
            path = Path(app.save_screenshot("overview.svg", str(out)))
            await pilot.press("q")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "screenshots"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the demo to scale up"
    )
    args = parser.parse_args(argv)
    for path in asyncio.run(shoot(args.out, args.timeout)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

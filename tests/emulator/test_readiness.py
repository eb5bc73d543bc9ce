"""The platform says which dynos serve: the Heroku scaler's readiness, and the Dynos panel's line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.app import App, ComposeResult

from autoscalebot.backends.base import ScalerError
from autoscalebot.backends.heroku import HerokuScaler
from autoscalebot.emulator.heroku import HerokuEmulator
from autoscalebot.engine import events as ev
from autoscalebot.tui.widgets.dynos import DynosPanel
from tests.conftest import make_settings, make_status

API_KEY = "readiness-key-7b3f"
BOOT = 30.0


@pytest.fixture
def now() -> list[float]:
    return [0.0]


@pytest.fixture
def heroku(now: list[float]) -> Iterator[HerokuEmulator]:
    with HerokuEmulator(api_key=API_KEY, boot_seconds=BOOT, clock=lambda: now[0]) as emulator:
        emulator.add_app("test-app", formation={"web": 3, "worker": 2})
        now[0] += BOOT
        yield emulator


@pytest.fixture
def scaler(heroku: HerokuEmulator) -> Iterator[HerokuScaler]:
    settings = make_settings(HEROKU_API_URL=heroku.url, HEROKU_API_KEY=API_KEY)
    backend = HerokuScaler(settings)
    yield backend
    backend.close()


def test_a_scale_up_is_ready_when_heroku_says_the_new_dynos_are_up(
    scaler: HerokuScaler, heroku: HerokuEmulator, now: list[float]
) -> None:
    assert scaler.readiness() == (3, 0)  # the worker dynos are not counted
    scaler.scale_to(4)
    assert scaler.readiness() == (3, 1)
    now[0] += BOOT
    assert scaler.readiness() == (4, 0)
    heroku.crash_dyno("test-app", "web.1")
    assert scaler.readiness() == (3, 0)  # a crashed dyno neither serves nor boots


def test_readiness_failures_are_scaler_errors(scaler: HerokuScaler, heroku: HerokuEmulator) -> None:
    heroku.inject_fault(status=200, body=b'{"not": "a list"}', path_contains="/dynos")
    with pytest.raises(ScalerError, match="dyno list"):
        scaler.readiness()
    heroku.inject_fault(status=503, path_contains="/dynos")
    with pytest.raises(ScalerError):
        scaler.readiness()


class _PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DynosPanel()


def _status(readiness: tuple[int, int] | None) -> ev.Status:
    return make_status(current=4, target=4, max=6, readiness=readiness)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("readiness", "shown", "hidden"),
    [((3, 1), "3 up, 1 starting", None), ((4, 0), "4 up", "starting"), (None, "now", " up")],
)
async def test_the_dynos_panel_says_how_many_are_up_and_starting(
    readiness: tuple[int, int] | None, shown: str, hidden: str | None
) -> None:
    app = _PanelApp()
    async with app.run_test(size=(60, 8)) as pilot:
        panel = app.query_one(DynosPanel)
        panel.set_status(_status(readiness))
        await pilot.pause()
        text = panel.render().plain
        assert shown in text
        if hidden is not None:
            assert hidden not in text

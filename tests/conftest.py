"""Shared fakes: a scripted probe, an in-memory scaler, settings with test defaults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from autoscalebot.backends.base import Measurement, ScalerError
from autoscalebot.backends.notification import TestBackend
from autoscalebot.config import build_settings
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine


class ScriptedProbe:
    """Answers with the latencies it was given (ms; None = timeout; (ms, status))."""

    def __init__(self, beats: Iterable[Any] = ()) -> None:
        self.beats = list(beats)
        self.default: Any = 500.0
        self.calls = 0

    def push(self, *beats: Any) -> None:
        self.beats.extend(beats)

    def measure(self) -> Measurement:
        self.calls += 1
        beat = self.beats.pop(0) if self.beats else self.default
        if isinstance(beat, Exception):
            raise beat
        if isinstance(beat, Measurement):
            return beat
        if beat is None:
            return Measurement(None, error="timed out after 2 s")
        if isinstance(beat, tuple):
            return Measurement(beat[0], status=beat[1])
        return Measurement(float(beat), status=200)

    def close(self) -> None:
        pass


class MemoryScaler:
    """A platform in memory: records every call; failures can be queued."""

    def __init__(self, count: int = 1) -> None:
        self.count = count
        self.requests: list[int] = []
        self.reads = 0
        self.fail_next: list[ScalerError] = []
        self.fail_reads: list[ScalerError] = []

    def current(self) -> int:
        self.reads += 1
        if self.fail_reads:
            raise self.fail_reads.pop(0)
        return self.count

    def scale_to(self, quantity: int) -> int:
        self.requests.append(quantity)
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.count = quantity
        return quantity

    def app_url(self) -> str:
        return "http://127.0.0.1:9/"

    def close(self) -> None:
        pass


def make_status(**changes: Any):
    """An engine status snapshot with plain defaults; ``changes`` by field name."""
    from autoscalebot.engine.events import Status

    fields: dict[str, Any] = dict(
        current=2,
        target=2,
        min=1,
        max=4,
        next_bounds_change=None,
        next_bounds=None,
        paused=False,
        dry_run=False,
        cooling_until=None,
        hold_until=None,
        problems=(),
        last_reason="",
        streaks={"fails": (0, 3), "passes": (0, 5)},
    )
    return Status(**(fields | changes))


def make_settings(**overrides: Any):
    """Settings with a fake app and key; overrides use seed names."""
    raw = {"HEROKU_APP_NAME": "test-app", "HEROKU_API_KEY": "test-key", "TIME_ZONE": "UTC"}
    raw.update(overrides)
    return build_settings(raw)


class Harness:
    """An engine on a fake clock with in-memory backends and a list of events."""

    def __init__(self, count: int = 1, **settings: Any) -> None:
        self.clock = FakeClock()
        self.probe = ScriptedProbe()
        self.scaler = MemoryScaler(count)
        self.outbox = TestBackend()
        self.events: list[Any] = []
        self.engine = Engine(
            make_settings(**settings),
            sink=self.events.append,
            clock=self.clock,
            probe=self.probe,
            scaler=self.scaler,
            notifiers=[self.outbox],
            notify_async=False,
        )

    def beats(self, *latencies: Any, every: float | None = None) -> None:
        """Run one tick per latency, moving the clock one interval after each."""
        step = every if every is not None else self.engine.settings.heartbeat_interval_in_seconds
        for latency in latencies:
            self.probe.push(latency)
            self.engine.tick()
            self.clock.advance(step)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.kind == kind]

    def notes(self, kind: str | None = None) -> list[Any]:
        return [n for n in self.outbox.messages if kind is None or n.kind == kind]


@pytest.fixture
def harness():
    """Factory: harness(count=1, **seed_settings)."""
    return Harness


@pytest.fixture(autouse=True)
def _own_runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test's bots (and the CLI subprocesses it starts) put their control
    sockets in a folder of its own, so tests running side by side never find
    each other's bot, nor the developer's."""
    import os

    folder = tmp_path_factory.mktemp("run", numbered=True)
    os.chmod(folder, 0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "data"))  # the bot's history file
    monkeypatch.delenv("AUTOSCALE_CONTROL_SOCKET", raising=False)
    return folder

"""What the console knows of one formation: its settings, its engine (standalone)
and what its engine last reported, kept whether or not its dashboard is open.

The app feeds each formation's events here (from that formation's sink); the
overview reads a row from it and a dashboard, when opened, starts from it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from textual.message import Message

from autoscalebot.config import Settings
from autoscalebot.engine import events as ev
from autoscalebot.engine.engine import Engine
from autoscalebot.tui.messages import EngineSink
from autoscalebot.tui.widgets.latency import HISTORY
from autoscalebot.tui.widgets.literal import literal
from autoscalebot.tui.widgets.status_line import problem_word

EVENTS_KEPT = 300
"""Log events each formation keeps for its dashboard (beats: see :func:`beats_kept`)."""

_QUEUE_PROBES = ("queue", "rqprobe", "celery", "redislist")


def beats_kept(formations: int) -> int:
    """Beats each formation keeps: a chart's width for a few, fewer for many
    (a thousand formations stay within a few megabytes)."""
    return max(60, min(HISTORY, 60_000 // max(1, formations)))


class Formation:
    """One formation, as the console sees it."""

    def __init__(
        self,
        fid: str,
        settings: Settings,
        post: Callable[[Message], bool],
        *,
        platform: str | None = None,
        beats: int = HISTORY,
    ) -> None:
        self.id = fid
        """Its formation id (``myapp/web``)."""
        self.settings = settings
        """Its settings as the console last applied them."""
        backend = platform or settings.scaling_backend.rsplit(".", 1)[-1]
        self.platform = backend.removesuffix("Scaler").lower() or backend
        """What it scales on, in a word: ``heroku`` (from ``HerokuScaler``), ``kubernetes``..."""
        self.sink: ev.Sink = EngineSink(post, fid)
        """Its engine's sink: each event becomes a message naming this formation."""
        self.engine: Engine | None = None
        """Its engine, standalone (None: attached, or not built yet)."""
        self.status: ev.Status | None = None
        self.beats: deque[ev.Beat] = deque(maxlen=beats)
        """Its newest beats, oldest first."""
        self.total = 0
        """Every beat seen since start."""
        self.events: deque[ev.Event] = deque(maxlen=EVENTS_KEPT)
        """Its newest log events (neither beats nor statuses), oldest first."""
        self.stopped: str | None = None
        """Why its engine stopped, once it has."""
        self.trouble: str = ""
        """Its last trouble in a few words, while a part is failing."""

    @property
    def queue(self) -> bool:
        """Its beats measure a job queue's wait, not a request's latency."""
        backend = str(self.settings.value("MEASUREMENT_BACKEND")).rsplit(".", 1)[-1].lower()
        return any(word in backend for word in _QUEUE_PROBES)

    @property
    def paused(self) -> bool:
        return self.status is not None and self.status.paused

    def take_beats(self, beats: Iterable[ev.Beat], count: int) -> None:
        self.beats.extend(beats)
        self.total += count

    def take_status(self, status: ev.Status) -> None:
        self.status = status
        if not status.problems:
            self.trouble = ""

    def take_event(self, event: ev.Event) -> None:
        self.events.append(event)
        if isinstance(event, ev.Stopped):
            self.stopped = event.reason
        elif isinstance(event, ev.Started):
            self.stopped = None
        elif isinstance(event, ev.Trouble):
            self.trouble = f"{event.source}: {event.reason}"
        elif isinstance(event, ev.ScaleFailed):
            self.trouble = f"scale: {event.reason}"

    # ---- the overview's cells, in words ----

    def dynos_text(self) -> str:
        """``3 / 1–4``, ``2→3 / 1–4`` on the way to a target, ``?`` before the first count."""
        s = self.status
        if s is None:
            return "…"
        now = "?" if s.current is None else str(s.current)
        if s.target is not None and s.target != s.current:
            now = f"{now}→{s.target}"
        return f"{now} / {s.min}–{s.max}"

    def latency_text(self) -> str:
        """The last beat: ``430 ms``, ``wait 1200 ms, 14 jobs`` for a job queue, or why it failed."""
        if not self.beats:
            return "…"
        last = self.beats[-1]
        if last.latency_ms is None:
            return literal(last.error or "no answer")
        text = f"{last.latency_ms:.0f} ms"
        if last.status is not None and last.status >= 400:
            text += f" ({last.status})"
        depth = getattr(last, "queue_depth", None)
        if depth is not None:  # a job queue: its oldest job's wait, and the jobs waiting
            return f"wait {text}, {depth} job{'s' if depth != 1 else ''}"
        return f"wait {text}" if self.queue else text

    def streak_text(self) -> str:
        """``fails 2/3`` or ``passes 1/5`` (whichever runs), ``–`` when neither does."""
        streaks = self.status.streaks if self.status is not None else {}
        if self.beats and self.beats[-1].streaks:
            streaks = self.beats[-1].streaks
        fails, of_fails = streaks.get("fails", (0, 0))
        passes, of_passes = streaks.get("passes", (0, 0))
        if fails:
            return f"fails {fails}/{of_fails}"
        if passes:
            return f"passes {passes}/{of_passes}"
        return "–"

    def state_text(self, clock: Any) -> str:
        """``RUNNING``, ``PAUSED``, ``HOLD``, ``STOPPED``... (words, so they read without colour)."""
        if self.stopped is not None:
            return "STOPPED"
        s = self.status
        if s is None:
            return "STARTING"
        words = ["PAUSED" if s.paused else "RUNNING"]
        if s.hold_until is not None and not clock.passed(s.hold_until):
            words.append("HOLD")
        if s.dry_run:
            words.append("DRY-RUN")
        return " ".join(words)

    def trouble_text(self) -> str:
        """What fails now (``API TROUBLE: Heroku answered 503``), or nothing."""
        s = self.status
        if self.stopped is not None:
            return literal(self.stopped)
        if s is None or not s.problems:
            return ""
        words = ", ".join(problem_word(p) for p in s.problems)
        reason = next(iter(s.problem_reasons.values()), "") if s.problem_reasons else ""
        reason = reason or self.trouble
        return f"{words}: {literal(reason)}" if reason else words

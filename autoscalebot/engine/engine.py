"""The engine: one beat at a time, measure → decide → clamp → scale → tell.

It runs on one thread (``run``), owns all scaling state, and talks to the
world only through its backends, its clock, the events it emits to ``sink``
and the commands it takes through ``submit``. Nothing here imports Textual
or Rich.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from autoscalebot.backends.base import (
    Bounds,
    Measurement,
    NotificationBackend,
    Policy,
    Probe,
    Scaler,
    ScalerError,
    Verdict,
)
from autoscalebot.config.settings import SPEC_BY_NAME, ConfigError, Settings
from autoscalebot.engine import events as ev
from autoscalebot.engine.clock import Clock, SystemClock
from autoscalebot.engine.commands import (
    Command,
    ForceScale,
    Pause,
    RefreshCount,
    Resume,
    UpdateSettings,
)
from autoscalebot.engine.loading import build_backend
from autoscalebot.engine.notifier import Notifier
from autoscalebot.engine.wording import dynos, number, plural
from autoscalebot.secrets import scrubber_for

log = logging.getLogger(__name__)

BOOT_POLL = 10.0
"""Seconds between readiness reads while dynos boot (the count refresh otherwise)."""

# A count no platform runs: an answer above it (or below zero, or not a whole
# number) is a broken answer, never a count to act on.
MAX_PLAUSIBLE_COUNT = 10_000
# A part that keeps failing is reported again this long after its episode
# began (seconds), then every REMIND_EVERY while it lasts.
REMIND_AFTER = (60.0, 300.0)
REMIND_EVERY = 900.0


def implausible(count: object) -> str | None:
    """Why ``count`` cannot be a real dyno count, or None when it can."""
    if not isinstance(count, int) or isinstance(count, bool):
        return f"a count that is not a whole number ({str(count)[:40]!r})"
    if count < 0:
        return f"a negative count ({count})"
    if count > MAX_PLAUSIBLE_COUNT:
        return f"an impossible count ({count})"
    return None


def _duration(seconds: float) -> str:
    """``45 s``, ``5 min``, ``1 h 15 min``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass
class _Episode:
    """A part failing now: since when, the latest reason, and reminders sent."""

    since: float
    reason: str
    repeats: int = 0

    def next_reminder(self) -> float:
        if self.repeats < len(REMIND_AFTER):
            return self.since + REMIND_AFTER[self.repeats]
        extra = self.repeats - len(REMIND_AFTER) + 1
        return self.since + REMIND_AFTER[-1] + REMIND_EVERY * extra


@dataclass(frozen=True)
class _Change:
    """One confirmed scale, for the scale-difference rule."""

    at: float
    delta: int


class Engine:
    """Keeps one app's dyno count inside its bounds and right for its latency.

    Build it with settings (backends are loaded from their dotted paths) or
    hand in backends directly (tests). ``run()`` loops until ``stop()``;
    ``tick()`` runs exactly one beat, for tests and the simulator.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sink: ev.Sink | None = None,
        clock: Clock | None = None,
        probe: Probe | None = None,
        policy: Policy | None = None,
        scaler: Scaler | None = None,
        notifiers: list[NotificationBackend] | None = None,
        notify_async: bool = True,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._sink = sink or (lambda event: None)
        # Every text from outside passes here before any sink or notification backend.
        self.scrubber = scrubber_for(settings)
        # Nobody listens: skip building the per-beat events (the simulator ticks millions of beats).
        self._quiet = sink is None
        self._fixed_bounds: tuple[Settings, Bounds | None] | None = None
        # Backends are built here, before the first beat, so a bad path is a
        # configuration error at start-up rather than a crash later.
        self.scaler: Scaler = scaler or build_backend(
            "SCALING_BACKEND", settings.scaling_backend, settings
        )
        self.probe: Probe = probe or build_backend(
            "MEASUREMENT_BACKEND",
            settings.measurement_backend,
            settings,
            app_url=self.scaler.app_url,
        )
        self.policy: Policy = policy or build_backend(
            "DECISION_BACKEND", settings.decision_backend, settings
        )
        if notifiers is None:
            notifiers = [
                build_backend("NOTIFICATION_BACKENDS", path, settings)
                for path in settings.notification_backends
            ]
        self.notifier = Notifier(notifiers, report=self._notify_failed, threaded=notify_async)

        self.current: int | None = None
        self.target: int | None = None
        self.paused = False
        self.last_reason = ""
        self._streaks: dict[str, tuple[int, int]] = {}
        self._last_scale_at: float | None = None
        self._hold_until: float | None = None
        self._platform_quiet_until = -math.inf
        self._next_refresh = -math.inf
        self._changes: deque[_Change] = deque()
        self._episodes: set[str] = set()
        self._failing: dict[str, _Episode] = {}
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._started = False
        # The count asked for by a scale call still waiting for its answer.
        self.in_flight_scale: int | None = None
        self.readiness: tuple[int, int] | None = None
        self._readiness_at = -math.inf
        self._readiness_count: int | None = None  # the count when readiness was last read
        """(up, starting) dynos, as the platform last said (None where it cannot say)."""
        self._last_status: ev.Status | None = None
        # Snapshots are built and emitted under this lock: pause/resume emit
        # from the caller's thread, and an older snapshot must not follow a newer.
        self._status_lock = threading.Lock()
        # Set when run() ended on an unexpected error (the CLI exits non-zero).
        self.crashed: str | None = None
        self._stop_reason = "stopped"
        # The ref of the command being applied, per thread: pause/resume are
        # applied on the caller's thread, the rest on the engine's.
        self._applying = threading.local()
        self.on_command: Callable[[], None] | None = None
        """Called after a command is queued (a fleet's scheduler wakes for it)."""

    # ---- control, from any thread ----

    def submit(self, command: Command) -> None:
        """Hand over an operator command, from any thread.

        Pause and resume are a flag, set here at once, so a pause also holds
        for the beat in flight (a slow heartbeat can take seconds) and the
        console shows it at once. Other commands are queued and applied on the
        engine's thread between beats.
        """
        if isinstance(command, Pause | Resume):
            self._applying.ref = command.ref
            try:
                self._pause(isinstance(command, Pause))
            finally:
                self._applying.ref = None
            return
        self._commands.put(command)
        self._wake.set()
        if self.on_command is not None:
            self.on_command()

    def _pause(self, paused: bool) -> None:
        self.paused = paused
        action, detail = (
            ("pause", "automatic scaling paused")
            if paused
            else ("resume", "automatic scaling resumed")
        )
        self._emit(ev.OperatorAction(self.clock.now(), action, detail))
        self._emit_status()  # under the status lock: never overtaken by an older snapshot

    def stop(self, reason: str = "stopped") -> None:
        """Ask ``run`` to return (``reason`` goes into the stop event); safe from any thread."""
        self._stop_reason = reason
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # ---- the loop ----

    def run(self) -> None:
        """Beat every interval (start to start) until stopped."""
        try:
            self.start()
            # The scheduled start of the last beat; the next is due one interval
            # later, read afresh each time so an interval edited from the console
            # applies to the wait already under way.
            last: float | None = None
            while not self._stop.is_set():
                self.apply_commands()
                interval = self.settings.heartbeat_interval_in_seconds
                now = self.clock.monotonic()
                due = now if last is None else last + interval
                if now >= due:
                    self.tick()
                    # A beat that overran skips the missed slots rather than bunching.
                    overrun = self.clock.monotonic() - due
                    last = due + max(0, math.ceil(overrun / interval) - 1) * interval
                    continue
                if self.clock.wait(due - now, self._wake):
                    self._wake.clear()
        except Exception as exc:  # last resort: report, never a silent death
            self.crash(exc)
        finally:
            self.close()
            self.announce_stop()

    def crash(self, exc: BaseException) -> None:
        """Record an unexpected error that ended this engine's beats (logged, scrubbed)."""
        log.error("engine stopped by an unexpected error", exc_info=exc)
        self.crashed = self.scrubber(f"error: {type(exc).__name__}: {exc}")

    def announce_stop(self) -> None:
        """Emit the stop event: why it stopped (the crash, or the reason given to ``stop``)."""
        self._emit(ev.Stopped(at=self.clock.now(), reason=self.crashed or self._stop_reason))

    def close(self) -> None:
        """Flush notifications (briefly) and release backends."""
        self.notifier.close(timeout=1.0)
        for backend in (self.probe, self.scaler):
            try:
                backend.close()
            except Exception:
                log.warning("closing %s failed", type(backend).__name__, exc_info=True)

    def start(self) -> None:
        """Read the platform's count and announce the start."""
        if self._started:
            return
        self._started = True
        self._refresh_count(force=True)
        bounds = self.bounds()
        self._emit(
            ev.Started(
                at=self.clock.now(),
                app=self.target_name(),
                current=self.current,
                min=bounds.min,
                max=bounds.max,
                dry_run=self.settings.dry_run,
            )
        )
        self._emit_status()

    def target_name(self) -> str:
        """What this engine scales, as people name it (never a class path)."""
        named = getattr(self.scaler, "target", None)
        if isinstance(named, str) and named:
            return named
        app = self.settings.heroku_app_name
        if app:
            return f"{app}/{self.settings.process_type}"
        return type(self.scaler).__name__

    def bounds(self, at: datetime | None = None) -> Bounds:
        """The [min, max] window at ``at`` (default now)."""
        fixed = self._fixed_bounds
        if fixed is None or fixed[0] is not self.settings:
            low, high = self.settings.min_dynos, self.settings.max_dynos
            same = low.is_constant and high.is_constant
            fixed = self._fixed_bounds = (
                self.settings,
                Bounds(low.entries[0][1], high.entries[0][1]) if same else None,
            )
        if fixed[1] is not None:
            return fixed[1]  # constant schedules: no clock or time-zone work
        moment = at or self.clock.now()
        tz = self.settings.tz
        return Bounds(
            self.settings.min_dynos.value_at(moment, tz),
            self.settings.max_dynos.value_at(moment, tz),
        )

    def tick(self) -> None:
        """One beat: measure, judge, maybe scale, tell."""
        self.start()
        self.scrubber.refresh()  # a rotated token file is masked from its first echo
        now = self.clock.monotonic()
        self._refresh_count()
        self._follow_boot(now)
        measurement = self._measure()
        if measurement is None:  # no beat this time (the platform could not say where to look)
            if not self._quiet:
                # Still a line per beat, so the log shows the bot alive and why it cannot measure.
                problem = self._failing.get("app-url")
                self._emit(
                    ev.Beat(
                        at=self.clock.now(),
                        latency_ms=None,
                        status=None,
                        error=problem.reason if problem else "app URL unknown",
                        outcome="fail",
                        streaks=dict(self._streaks),
                        current=self.current,
                    )
                )
            self._check_scale_diff()
            self._emit_status()
            return
        bounds = self.bounds()
        if self.readiness is not None:  # what serves, as the platform says
            measurement = replace(measurement, serving=self.readiness[0])
        verdict = self._observe(measurement, bounds, now)
        self._streaks = verdict.streaks
        if not self._quiet:
            self._emit_beat(measurement, verdict)
        if self.settings.notify_on_every_ping:
            self._notify("ping", f"Heartbeat {measurement}", verdict.reason)
        self._decide(verdict, bounds, now)
        self._check_scale_diff()
        self._emit_status()

    def _emit_beat(self, measurement: Measurement, verdict: Verdict) -> None:
        figures = measurement.requests
        self._emit(
            ev.Beat(
                at=self.clock.now(),
                latency_ms=measurement.latency_ms,
                status=measurement.status,
                error=measurement.error,
                outcome=verdict.outcome,
                streaks=verdict.streaks,
                current=self.current,
                queue_depth=measurement.queue_depth if measurement.queues else None,
                request_queue_ms=figures.queue_p95_ms if figures else None,
                request_rate=round(figures.rate, 2) if figures else None,
            )
        )

    # ---- one beat, in parts ----

    def _measure(self) -> Measurement | None:
        try:
            m = self.probe.measure()
        except ScalerError as exc:
            # The probe asked the platform for the app's URL and it failed: a
            # platform problem, which must not count as a slow beat.
            self._trouble("app-url", f"app URL unknown: {exc}")
            return None
        except Exception as exc:  # a probe bug is reported like an unreachable app
            log.warning("probe raised", exc_info=True)
            m = Measurement(None, error=f"probe error: {type(exc).__name__}")
        self._recovered("app-url")
        if m.broken:
            self._trouble("probe", f"heartbeat {m}")
        else:
            self._recovered("probe")
        return m

    def _observe(self, m: Measurement, bounds: Bounds, now: float) -> Verdict:
        current = self.current if self.current is not None else bounds.min
        try:
            return self.policy.observe(m, current=current, bounds=bounds, now=now)
        except Exception as exc:
            log.warning("policy raised", exc_info=True)
            self._trouble("policy", f"decision backend error: {type(exc).__name__}")
            return Verdict(outcome="ok", reason="decision backend failed")

    def _decide(self, verdict: Verdict, bounds: Bounds, now: float) -> None:
        current = self.current
        if current is None:
            return  # the platform has not told us the count yet: nothing safe to do
        self._track_need(verdict, bounds, current)
        if current not in bounds:
            target = bounds.clamp(current)
            reason = f"{dynos(current)} is outside the window {bounds.min}-{bounds.max}"
            self._change(current, target, reason, now, correction=True)
        elif verdict.wanted is not None and bounds.clamp(verdict.wanted) != current:
            self._change(
                current, bounds.clamp(verdict.wanted), verdict.reason, now, correction=False
            )
        else:
            self.target = current

    def _track_need(self, verdict: Verdict, bounds: Bounds, current: int) -> None:
        """Needs beyond the bounds, notified once per episode."""
        wanted = verdict.wanted
        # An episode begins when the policy wants past a bound it is at, and
        # ends only on contrary evidence (a beat of the other kind) or when the
        # count leaves the bound; a single ok beat in a jittery overload does not.
        above = current >= bounds.max and (
            (wanted is not None and wanted > bounds.max)
            or ("needs_above_max" in self._episodes and verdict.outcome != "pass")
        )
        below = (
            bounds.min > 1
            and current <= bounds.min
            and (
                (wanted is not None and wanted < bounds.min)
                or ("needs_below_min" in self._episodes and verdict.outcome != "fail")
            )
        )
        if self._episode("needs_above_max", above) and self.settings.notify_if_needs_exceed_max:
            self._notify(
                "needs_above_max",
                f"At MAX_DYNOS ({bounds.max}) and still too slow; raise MAX_DYNOS to allow more",
                verdict.reason,
                current=current,
                max=bounds.max,
            )
        if self._episode("needs_below_min", below) and self.settings.notify_if_needs_below_min:
            self._notify(
                "needs_below_min",
                f"At MIN_DYNOS ({bounds.min}) and still fast; MIN_DYNOS may be higher than needed",
                verdict.reason,
                current=current,
                min=bounds.min,
            )

    def _change(
        self, current: int, target: int, reason: str, now: float, *, correction: bool
    ) -> None:
        self.target = target
        self.last_reason = reason
        gate = self._gate(now, correction=correction)
        if gate is not None:
            self._emit(ev.Decided(self.clock.now(), current, target, reason, gate))
            return
        if self.settings.dry_run:
            self._emit(ev.Decided(self.clock.now(), current, target, reason, "dry-run"))
            self._reset_policy()
            return
        self._emit(ev.Decided(self.clock.now(), current, target, reason, "scale"))
        self._scale(target, reason, manual=False, correction=correction)

    def _gate(self, now: float, *, correction: bool) -> str | None:
        """Why an automatic change must wait, or None."""
        if self.paused:
            return "paused"
        if now < self._platform_quiet_until:
            return "backoff"
        # An operator's hold covers corrections too: an override outside the
        # bounds stands for the hold it announced.
        if self._hold_left(now) > 0:
            return "hold"
        if correction:
            return None  # bounds are a hard rule: cool-off does not delay them
        if self._cooling_left(now) > 0:
            return "cooling"
        return None

    def _hold_left(self, now: float) -> float:
        return 0.0 if self._hold_until is None else max(0.0, self._hold_until - now)

    def _cooling_left(self, now: float) -> float:
        if self._last_scale_at is None:
            return 0.0
        return max(0.0, self.settings.cool_off_in_seconds - (now - self._last_scale_at))

    def _scale(
        self,
        target: int,
        reason: str,
        *,
        manual: bool,
        correction: bool = False,
        override: bool = False,
    ) -> bool:
        """Ask the platform for ``target``; record only what it confirms."""
        before = self.current
        assert before is not None
        self.in_flight_scale = target
        try:
            return self._scale_checked(before, target, reason, manual, correction, override)
        finally:
            self.in_flight_scale = None

    def _scale_checked(
        self, before: int, target: int, reason: str, manual: bool, correction: bool, override: bool
    ) -> bool:
        # Re-read first: if someone scaled by hand since the last refresh, a
        # decision made from the stale count must not be applied.
        problem = self._refresh_count(force=True, fresh=True)
        if problem is not None:
            self._scale_failed(
                target, f"the count could not be re-read before scaling: {problem}", None
            )
            return False
        if self.current != before:
            self._reset_policy()
            return False
        # The re-read took time: the operator may have paused, and a schedule
        # boundary may have passed. Check both again just before the call.
        # A pause stops automatic scaling only; the operator's own scale goes on.
        if self.paused and not manual:
            self._emit(ev.Decided(self.clock.now(), before, target, reason, "paused"))
            return False
        bounds = self.bounds()
        if target not in bounds and not override:
            target = bounds.clamp(target)
            if target == before and not correction:
                return False
        now = self.clock.monotonic()
        try:
            answered = self.scaler.scale_to(target)
        except ScalerError as exc:
            self._scale_failed(target, str(exc), exc.retry_after)
            return False
        except Exception as exc:
            log.warning("scaler raised", exc_info=True)
            self._scale_failed(target, f"scaling backend error: {type(exc).__name__}", None)
            return False
        after = self._confirm(before, target, answered, now)
        if after is None:
            return False
        if after != target:
            reason = f"{reason} (asked for {target}, the platform runs {after})"
        self.current = after
        self.target = after
        if self.readiness is not None:
            # Until the platform is asked again (next beat): new dynos start, removed ones go.
            up = min(self.readiness[0], after)
            self.readiness = (up, after - up)
        self._last_scale_at = now
        self._reset_policy()
        self._recovered("scale")
        self._emit(ev.Scaled(self.clock.now(), before, after, reason, manual))
        if self.settings.notify_on_every_scale:
            verb = "up" if after > before else "down"
            who = "by the operator" if manual else "automatically"
            self._notify(
                "scale",
                f"Scaled {verb} from {before} to {dynos(after)} {who}",
                reason,
                before=before,
                after=after,
            )
        self._record_change(now, after - before)
        return True

    def _confirm(self, before: int, target: int, answered: object, now: float) -> int | None:
        """The count the platform runs after a scale call, read back; None when not confirmed.

        One rule for every scaler: the call's answer must be a plausible
        count, and a fresh read must show the count moved. A call answered
        "done" that changed nothing (or an answer of -1 or 10**9 dynos) is a
        failed scale, reported like any other.
        """
        problem = implausible(answered)
        if problem is not None:
            self._scale_failed(target, f"the platform answered the scale with {problem}", None)
            return None
        assert isinstance(answered, int)
        after: int | None
        if self.stopping:
            # SIGTERM's grace covers the call, not a read after it: log the
            # platform's own answer now; the next start reads the real count.
            after, problem = answered, None
        else:
            after, problem = self._read_count(now)
        if after is None:
            # The call may have worked: re-read the count next beat, and let
            # the cool-off run as after a scale, rather than act on a guess.
            self.current = None
            self._last_scale_at = now
            self._scale_failed(
                target, f"the scale to {target} could not be confirmed: {problem}", None
            )
            return None
        if after == before:
            self._scale_failed(
                target,
                f"the platform accepted the scale to {target} but still runs {dynos(after)}",
                None,
            )
            return None
        return after

    def _scale_failed(self, target: int, reason: str, retry_after: float | None) -> None:
        if retry_after:
            self._platform_quiet_until = self.clock.monotonic() + retry_after
        self._emit(ev.ScaleFailed(self.clock.now(), self.current, target, reason))
        first = self._trouble("scale", reason)
        if first and self.settings.notify_on_scale_fails:
            self._notify(
                "scale_failed",
                f"Scaling to {dynos(target)} failed; it will be tried again",
                reason,
                current=self.current or 0,
                target=target,
            )

    def _record_change(self, now: float, delta: int) -> None:
        """Remember a confirmed scale for the NOTIFY_IF_SCALE_DIFF_EXCEEDS_* rule."""
        if self.settings.notify_if_scale_diff_exceeds_threshold is not None:
            self._changes.append(_Change(now, delta))
            self._check_scale_diff()

    def _check_scale_diff(self) -> None:
        """The scale-difference rule over a window that slides every beat."""
        threshold = self.settings.notify_if_scale_diff_exceeds_threshold
        period_min = self.settings.notify_if_scale_diff_exceeds_period_in_minutes
        if threshold is None or period_min is None:
            return
        now = self.clock.monotonic()
        period = period_min * 60.0
        while self._changes and self._changes[0].at <= now - period:
            self._changes.popleft()
        moved = sum(abs(c.delta) for c in self._changes)
        limit = threshold.value_at(self.clock.now(), self.settings.tz)
        if self._episode("scale_diff", moved > limit):
            self._notify(
                "scale_diff",
                f"{dynos(moved)} of scaling within {period_min:g} minutes (threshold {limit})",
                f"{plural(len(self._changes), 'scale')}: "
                + ", ".join(f"{c.delta:+d}" for c in self._changes),
                moved=moved,
                threshold=limit,
            )

    def _refresh_count(self, *, force: bool = False, fresh: bool = False) -> str | None:
        """Re-read the platform's count when due (or forced).

        Returns why the count could not be read, or None (read, or not due).
        """
        now = self.clock.monotonic()
        if not force and self.current is not None and now < self._next_refresh:
            return None  # an unknown count is retried every beat
        if now < self._platform_quiet_until:
            wait = self._platform_quiet_until - now
            return f"backing off after the platform's rate limit ({wait:.0f} s left)"
        # A shared account (many formations on one Heroku key) may ask for more time.
        paced = self._ask_scaler("min_refresh_seconds") or 0.0
        self._next_refresh = now + max(self.settings.count_refresh_in_seconds, float(paced))
        actual, problem = self._read_count(now, fresh=fresh)
        if actual is None:
            assert problem is not None
            self._trouble("platform", problem)
            return problem
        self._recovered("platform")
        if self.current is not None and actual != self.current:
            self._emit(ev.Drift(self.clock.now(), self.current, actual))
            self._reset_policy()
        self.current = actual
        if not fresh:  # the read right before a scale stays one call
            self._read_readiness()
        return None

    def _follow_boot(self, now: float) -> None:
        """While dynos boot (or the count moved since the platform last said), ask
        again every few seconds, so "ready" is known when it happens, not at the
        next count refresh."""
        ready, current = self.readiness, self.current
        if ready is None or current is None:
            return
        scaled_since = current != self._readiness_count
        booting = ready[1] > 0 or sum(ready) != current
        if scaled_since or (booting and now - self._readiness_at >= BOOT_POLL):
            self._read_readiness()

    def _read_readiness(self) -> None:
        """How many dynos serve and how many boot, where the platform says (optional)."""
        self._readiness_at = self.clock.monotonic()
        self._readiness_count = self.current
        ready = self._ask_scaler("readiness")
        if ready is None or not (
            isinstance(ready, tuple) and len(ready) == 2 and all(type(n) is int for n in ready)
        ):
            self.readiness = None
            return
        self.readiness = (ready[0], ready[1])

    def _ask_scaler(self, name: str) -> Any:
        """An optional scaler method's answer, or None (absent, or it failed: never fatal)."""
        method = getattr(self.scaler, name, None)
        if not callable(method):
            return None
        try:
            return method()
        except ScalerError:
            return None
        except Exception:
            log.warning("%s.%s raised", type(self.scaler).__name__, name, exc_info=True)
            return None

    def _read_count(self, now: float, *, fresh: bool = False) -> tuple[int | None, str | None]:
        """Ask the platform for its count: ``(count, None)`` or ``(None, why not)``.

        ``fresh``: never an answer shared from an earlier read (a shared
        account's list), because a scale is decided on it."""
        read = getattr(self.scaler, "current_fresh", None) if fresh else None
        try:
            actual = read() if callable(read) else self.scaler.current()
        except ScalerError as exc:
            if exc.retry_after:
                self._platform_quiet_until = now + exc.retry_after
            return None, str(exc)
        except Exception as exc:
            log.warning("scaler raised", exc_info=True)
            return None, f"scaling backend error: {type(exc).__name__}"
        problem = implausible(actual)
        if problem is not None:
            return None, f"the platform reported {problem}"
        return actual, None

    def _reset_policy(self) -> None:
        """Forget the policy's streaks; a policy bug is reported, never fatal."""
        try:
            self.policy.reset()
        except Exception as exc:
            log.warning("policy reset raised", exc_info=True)
            self._trouble("policy", f"decision backend error: {type(exc).__name__}")

    # ---- operator commands ----

    def apply_commands(self) -> None:
        """Apply every queued command (called by ``run`` between beats)."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            self._apply(command)
            self._emit_status()

    def _apply(self, command: Command) -> None:
        self._applying.ref = command.ref
        try:
            if isinstance(command, ForceScale):
                self._force(command)
            elif isinstance(command, UpdateSettings):
                self._update(command)
            elif isinstance(command, RefreshCount):
                self._refresh_count(force=True)
        finally:
            self._applying.ref = None

    def _force(self, command: ForceScale) -> None:
        at = self.clock.now()
        # A pause stops automatic scaling only: pausing, then scaling by hand,
        # is how an operator takes the wheel.
        if self.settings.dry_run:
            detail = "dry-run: no scaling call is ever made"
            self._emit(ev.OperatorAction(at, "force", detail, accepted=False))
            return
        if self.current is None:
            problem = self._refresh_count(force=True) or "the platform gave no count"
            if self.current is None:
                detail = f"the current count is unknown: {problem}"
                self._emit(ev.OperatorAction(at, "force", detail, accepted=False))
                return
        assert self.current is not None
        bounds = self.bounds()
        override = command.to is not None and command.override
        if override:
            assert command.to is not None
            wanted = target = max(0, command.to)
        else:
            wanted = command.to if command.to is not None else self.current + command.delta
            target = bounds.clamp(wanted)
        if target == self.current:
            where = (
                "at MAX_DYNOS"
                if target >= bounds.max
                else "at MIN_DYNOS"
                if target <= bounds.min
                else "unchanged"
            )
            self._emit(
                ev.OperatorAction(
                    at, "force", f"already {dynos(self.current)} ({where})", accepted=False
                )
            )
            return
        if target not in bounds:
            note = " (override, outside bounds)"
        elif target != wanted:
            note = f" (asked for {wanted}, clamped to {bounds.min}-{bounds.max})"
        else:
            note = ""
        reason = f"operator asked for {dynos(target)}{note}"
        self.target = target
        self.last_reason = reason
        if self._scale(target, reason, manual=True, override=override):
            self._hold_until = self.clock.monotonic() + self.settings.manual_hold_in_seconds
            hold = self.settings.manual_hold_in_seconds
            after = (
                "automatic scaling stays paused"
                if self.paused
                else f"automatic scaling holds {hold:g} s"
            )
            self._emit(ev.OperatorAction(at, "force", f"{reason}; {after}"))
        else:
            self._emit(
                ev.OperatorAction(at, "force", f"{reason}: not done (see the log)", accepted=False)
            )

    def _update(self, command: UpdateSettings) -> None:
        at = self.clock.now()
        fixed = sorted(
            k.upper()
            for k in command.changes
            if not getattr(SPEC_BY_NAME.get(k.upper()), "editable", False)
        )
        if fixed:
            # Secrets and platform settings are never changed (or echoed) at run time.
            detail = f"{', '.join(fixed)}: not changed while running; restart with the new value"
            self._emit(ev.OperatorAction(at, "settings", detail, accepted=False))
            return
        try:
            new = self.settings.with_changes(command.changes)
        except ConfigError as exc:
            self._emit(ev.OperatorAction(at, "settings", str(exc), accepted=False))
            return
        self.settings = new
        for backend in (self.policy, self.probe, self.scaler):
            configure = getattr(backend, "configure", None)
            if callable(configure):
                try:
                    configure(new)
                except Exception as exc:
                    log.warning("%s.configure raised", type(backend).__name__, exc_info=True)
                    self._trouble("policy", f"backend error on new settings: {type(exc).__name__}")
        names = ", ".join(f"{k.upper()}={number(new.value(k.upper()))}" for k in command.changes)
        self._emit(ev.OperatorAction(at, "settings", f"applied {names}"))

    # ---- reporting ----

    def _episode(self, key: str, active: bool) -> bool:
        """Track an ongoing condition; True only when it begins."""
        if active and key not in self._episodes:
            self._episodes.add(key)
            return True
        if not active:
            self._episodes.discard(key)
        return False

    def _trouble(self, source: str, reason: str) -> bool:
        """A part is failing: report when it begins, then again on a back-off.

        True when the episode began (its notification, if any, goes out once).
        """
        reason = self.scrubber(reason)
        now = self.clock.monotonic()
        first = self._episode(f"trouble:{source}", True)
        episode = self._failing.get(source)
        if first or episode is None:
            self._failing[source] = _Episode(since=now, reason=reason)
            self._emit(ev.Trouble(self.clock.now(), source, reason))
            return first
        episode.reason = reason
        if now >= episode.next_reminder():
            episode.repeats += 1
            self._emit(
                ev.Trouble(
                    self.clock.now(),
                    source,
                    f"still failing after {_duration(now - episode.since)}: {reason}",
                    repeat=episode.repeats,
                )
            )
        return False

    def _recovered(self, source: str) -> None:
        key = f"trouble:{source}"
        self._failing.pop(source, None)
        if key in self._episodes:
            self._episodes.discard(key)
            self._emit(ev.Recovered(self.clock.now(), source))
            if source == "scale" and self.settings.notify_on_scale_fails:
                self._notify("recovered", "Scaling works again", "")

    def _notify(self, kind: str, message: str, reason: str, **counts: int) -> None:
        from autoscalebot.backends.base import Notification

        note = self.scrubber.scrub(Notification(kind, message, reason, self.clock.now(), counts))
        self.notifier.send(note)
        self._emit(ev.Notified(note.at, note))

    def _notify_failed(self, backend: str, error: str | None) -> None:
        """Called by the notifier, on its thread, when a backend starts or stops failing."""
        at = self.clock.now()
        source = f"notify:{backend}"
        self._emit(ev.Trouble(at, source, error) if error else ev.Recovered(at, source))

    def status(self) -> ev.Status:
        """The status snapshot now."""
        moment = self.clock.now()
        bounds = self.bounds(moment)
        tz = self.settings.tz
        changes = [
            c
            for c in (
                self.settings.min_dynos.next_change(moment, tz),
                self.settings.max_dynos.next_change(moment, tz),
            )
            if c is not None
        ]
        next_change = min(c[0] for c in changes) if changes else None
        next_bounds = None
        if next_change is not None:
            later = self.bounds(next_change)
            next_bounds = (later.min, later.max)
        mono = self.clock.monotonic()
        cooling_left, hold_left = self._cooling_left(mono), self._hold_left(mono)
        cooling = moment + timedelta(seconds=cooling_left) if cooling_left > 0 else None
        hold = moment + timedelta(seconds=hold_left) if hold_left > 0 else None
        episodes = tuple(self._episodes)  # one C-level copy: safe while the engine thread adds
        problems = tuple(
            sorted(
                [k.split(":", 1)[1] for k in episodes if k.startswith("trouble:")]
                + [f"notify:{name}" for name in self.notifier.failing]
            )
        )
        return ev.Status(
            current=self.current,
            target=self.target,
            min=bounds.min,
            max=bounds.max,
            next_bounds_change=next_change,
            next_bounds=next_bounds,
            paused=self.paused,
            dry_run=self.settings.dry_run,
            cooling_until=cooling,
            hold_until=hold,
            problems=problems,
            last_reason=self.last_reason,
            streaks=dict(self._streaks),
            thresholds_ms=(
                self.settings.min_response_time_in_ms,
                self.settings.max_response_time_in_ms,
            ),
            problem_reasons={
                source: episode.reason
                for source in problems
                if (episode := self._failing.get(source)) is not None
            },
            readiness=self.readiness,
            budget=self._ask_scaler("budget") if not self._quiet else None,
        )

    def _emit_status(self) -> None:
        if self._quiet:
            return
        with self._status_lock:
            status = self.status()
            if status != self._last_status:
                self._last_status = status
                self._emit(ev.StatusChanged(self.clock.now(), status))

    def _emit(self, event: ev.Event) -> None:
        if isinstance(event, ev.OperatorAction) and event.ref is None:
            ref = getattr(self._applying, "ref", None)
            if ref is not None:
                event = replace(event, ref=ref)
        try:
            # Every text in every event, scrubbed of secrets at this one point.
            self._sink(self.scrubber.scrub(event))
        except Exception:  # a broken sink must not stop scaling
            log.warning("event sink raised", exc_info=True)

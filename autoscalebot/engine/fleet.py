"""Many formations in one bot: each engine beats on its own schedule, on a
worker thread when its beat is due, so one formation's hung heartbeat or
stalled API is late by nothing for the others.

One scheduler thread keeps the next due time of every formation in a heap and
hands each due beat to a thread pool that grows only when beats overlap (a
formation stuck in a call holds one worker until its call's deadline; the
others take other workers). A formation never runs two beats at once: a beat
that overruns skips the slots it missed, as a lone engine does. Operator
commands wake the scheduler, which applies them at once when the formation
is idle, or right after the beat in flight.
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from autoscalebot.engine.clock import Clock, SystemClock
from autoscalebot.engine.engine import Engine

log = logging.getLogger(__name__)


class _Workers:
    """An elastic pool of daemon threads: a new one only when every other is busy.

    Daemon threads, unlike ``concurrent.futures``' (joined at exit), so a call
    stuck until its deadline never holds the process when it is told to stop.
    """

    def __init__(self, limit: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0
        self._limit = limit
        self._name = name

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0 and self._threads < self._limit
            if spawn:
                self._threads += 1
            else:
                self._idle -= 1  # this job takes an idle worker
        if spawn:
            threading.Thread(
                target=self._work, args=(job,), name=f"{self._name}-{self._threads}", daemon=True
            ).start()
        else:
            self._jobs.put(job)

    def _work(self, job: Callable[[], None] | None) -> None:
        while job is not None:
            job()
            with self._lock:
                self._idle += 1
            job = self._jobs.get()

    def shutdown(self) -> None:
        """Idle workers end; busy ones end after their job (they are daemons either way)."""
        for _ in range(self._threads):
            self._jobs.put(None)


@dataclass
class _Slot:
    """One formation's place in the schedule."""

    engine: Engine
    last: float | None = None  # scheduled start of its last beat
    busy: bool = False  # a beat or commands are running on a worker
    poked: bool = False  # commands arrived: apply them as soon as it is idle
    crashed: bool = False
    lateness: list[float] = field(default_factory=list)


class Fleet:
    """Runs ``engines`` (formation id -> engine) until :meth:`stop`.

    ``run()`` blocks (call it on the engine thread); ``submit`` and ``stop``
    are safe from any thread.
    """

    def __init__(
        self,
        engines: Mapping[str, Engine],
        *,
        clock: Clock | None = None,
        max_workers: int | None = None,
        keep_lateness: int = 0,
    ) -> None:
        self.engines = dict(engines)
        self.clock: Clock = clock or SystemClock()
        self._slots = {fid: _Slot(engine) for fid, engine in self.engines.items()}
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)  # notified when a formation goes idle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stop_reason = "stopped"
        self._pool = _Workers(max_workers or max(4, len(self.engines)), "autoscalebot-beat")
        self._keep_lateness = keep_lateness
        for fid, engine in self.engines.items():
            engine.on_command = lambda fid=fid: self._poke(fid)

    # ---- control, from any thread ----

    def stop(self, reason: str = "stopped") -> None:
        self._stop_reason = reason
        self._stop.set()
        self._wake.set()

    @property
    def crashed(self) -> str | None:
        """Why a formation crashed (the first), or None."""
        for fid, engine in self.engines.items():
            if engine.crashed:
                return f"{fid}: {engine.crashed}"
        return None

    @property
    def in_flight_scale(self) -> int | None:
        """A scale call waiting for its answer, in any formation (for SIGTERM's grace)."""
        for engine in self.engines.values():
            if engine.in_flight_scale is not None:
                return engine.in_flight_scale
        return None

    def lateness(self) -> list[float]:
        """How late each recorded beat started (seconds), for the benchmark."""
        with self._lock:
            return [x for slot in self._slots.values() for x in slot.lateness]

    def _poke(self, fid: str) -> None:
        with self._lock:
            self._slots[fid].poked = True
        self._wake.set()

    # ---- the loop ----

    def run(self) -> None:
        """Beat every formation on its schedule until stopped."""
        try:
            self._loop()
        finally:
            self._finish()

    def _first_beats(self, now: float) -> list[tuple[float, int, str]]:
        """When each formation beats first: the groups (an app's process types,
        a namespace's deployments) spread evenly over one interval, so a
        thousand formations do not all beat in the same instant and then queue
        behind each other; a group beats together, so the scales one beat
        decides for several process types of an app can go out as one call."""
        groups = sorted({fid.split("/", 1)[0] for fid in self._slots})
        place = {group: n / len(groups) for n, group in enumerate(groups)}
        first = []
        for n, (fid, slot) in enumerate(self._slots.items()):
            interval = slot.engine.settings.heartbeat_interval_in_seconds
            offset = 0.0 if len(groups) == 1 else place[fid.split("/", 1)[0]] * interval
            first.append((now + offset, n, fid))
        return first

    def _loop(self) -> None:
        now = self.clock.monotonic()
        # (due, order, formation id): the order breaks ties without comparing ids.
        heap = self._first_beats(now)
        heapq.heapify(heap)
        order = len(heap)
        # Every formation reads its count and says it started at once, whenever
        # it first beats (a first beat due now starts it itself).
        later = [fid for due, _, fid in heap if due > now]
        with self._lock:
            for fid in later:
                self._slots[fid].busy = True
        for fid in later:
            self._pool.submit(functools.partial(self._commands, fid))
        while not self._stop.is_set():
            self._run_poked()
            now = self.clock.monotonic()
            while heap and heap[0][0] <= now and not self._stop.is_set():
                due, _, fid = heapq.heappop(heap)
                slot = self._slots[fid]
                if slot.crashed:
                    continue
                interval = slot.engine.settings.heartbeat_interval_in_seconds
                with self._lock:
                    busy = slot.busy
                    if not busy:
                        slot.busy = True
                if busy:
                    # Still in its last beat: this slot is missed, not queued up.
                    nxt = due + interval
                else:
                    slot.last = due
                    if self._keep_lateness:
                        slot.lateness.append(now - due)
                        del slot.lateness[: -self._keep_lateness]
                    self._pool.submit(functools.partial(self._beat, fid))
                    nxt = due + interval
                if nxt <= now:  # fell behind (a long stall): skip to the next slot ahead
                    nxt = due + math.ceil((now - due) / interval) * interval
                    if nxt <= now:
                        nxt += interval
                order += 1
                heapq.heappush(heap, (nxt, order, fid))
            if not heap:
                self._stop.wait(1.0)
                continue
            wait = max(0.0, heap[0][0] - self.clock.monotonic())
            if self.clock.wait(wait, self._wake):
                self._wake.clear()

    def _run_poked(self) -> None:
        """Apply operator commands of idle formations now (busy ones do it after their beat)."""
        with self._lock:
            ready = [fid for fid, s in self._slots.items() if s.poked and not s.busy]
            for fid in ready:
                self._slots[fid].poked = False
                self._slots[fid].busy = True
        for fid in ready:
            self._pool.submit(functools.partial(self._commands, fid))

    def _beat(self, fid: str) -> None:
        slot = self._slots[fid]
        try:
            slot.engine.apply_commands()
            slot.engine.tick()
        except Exception as exc:  # a bug in one formation never stops the others
            self._crash(fid, exc)
        finally:
            self._idle(fid)

    def _commands(self, fid: str) -> None:
        slot = self._slots[fid]
        try:
            slot.engine.start()
            slot.engine.apply_commands()
        except Exception as exc:
            self._crash(fid, exc)
        finally:
            self._idle(fid)

    def _idle(self, fid: str) -> None:
        with self._lock:
            self._slots[fid].busy = False
            poked = self._slots[fid].poked
            self._settled.notify_all()
        if poked:
            self._wake.set()

    def _crash(self, fid: str, exc: Exception) -> None:
        slot = self._slots[fid]
        slot.engine.crash(exc)
        slot.crashed = True
        slot.engine.announce_stop()
        if all(s.crashed for s in self._slots.values()):
            self.stop("every formation crashed")

    def _finish(self) -> None:
        """Stop every formation: let the beats in flight end (a scale call's answer
        is logged; whoever runs this thread decides how long to wait, as for a
        lone engine), then flush notifications and release backends, all at once
        and bounded, so a thousand formations stop as fast as one."""
        for engine in self.engines.values():
            engine.stop(self._stop_reason)  # calls check it between steps
        with self._settled:
            while any(slot.busy for slot in self._slots.values()):
                self._settled.wait(0.5)
        self._pool.shutdown()
        closers = []
        for fid, slot in self._slots.items():
            engine = slot.engine
            t = threading.Thread(target=engine.close, name=f"close-{fid}", daemon=True)
            t.start()
            closers.append(t)
        deadline = time.monotonic() + 1.0
        for t in closers:
            t.join(max(0.0, deadline - time.monotonic()))
        for slot in self._slots.values():
            if not slot.crashed:
                slot.engine.announce_stop()

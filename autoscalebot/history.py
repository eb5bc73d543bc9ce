"""A bounded local history of what the bot saw and did: beats, decisions, scales.

    from autoscalebot.history import History
    history = History.open()          # the platformdirs data folder
    engine = Engine(..., sinks=[..., history.record])   # an event sink

:class:`History` is an engine event sink (a callable taking an
:class:`~autoscalebot.engine.events.Event`) that writes to SQLite:

- only numbers and fixed words: a beat's time, latency, status and dyno
  count (never its error text), a decision's counts and action, a scale's
  counts. No reason, URL, header or setting is stored, so the file never
  holds a secret or anything an outside server said;
- bounded: past ``max_bytes`` the oldest fifth of every table goes, and the
  file is shrunk in place (incremental vacuum); checked every 500 writes;
- it survives restarts (a file in the user's data folder, 0600) and opens
  an existing file as it is; a file it cannot use (not SQLite, another
  schema) is moved aside as ``.bad`` and a new one started;
- quick on the engine's thread, and shared: several bots on one machine
  write to one file (write-ahead log, one short commit per row, no fsync per
  row); a write never waits more than 50 ms for another bot's, and a row it
  cannot write then is dropped (``dropped``), never a late beat.

:func:`traffic` turns the recorded beats back into load (requests per second
per minute) for ``autoscalebot simulate --trace history``: from the latency
and the dyno count through the M/M/k model of the ``APP_*`` settings.
:func:`prime_from_history` gives that load to the adaptive policy at start,
so what repeats in it (the hourly job) is not forgotten at a restart.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoscalebot.backends.policies.queueing import utilisation_from_mean

if TYPE_CHECKING:
    from autoscalebot.config import Settings

log = logging.getLogger(__name__)

FILE_NAME = "history.sqlite3"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHECK_EVERY = 500  # writes between size checks
BUSY_MS = 50  # how long a write may wait for another bot's: a beat never waits longer
DROP_SHARE = 0.2
SCHEMA_VERSION = 2  # 2: a formation per row (one bot, many formations)
TABLES = ("beats", "decisions", "scales")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS beats (
    formation TEXT NOT NULL,
    t REAL NOT NULL, latency_ms REAL, status INTEGER, ok INTEGER NOT NULL, dynos INTEGER
);
CREATE TABLE IF NOT EXISTS decisions (
    formation TEXT NOT NULL,
    t REAL NOT NULL, current INTEGER NOT NULL, target INTEGER NOT NULL, action TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scales (
    formation TEXT NOT NULL,
    t REAL NOT NULL, before INTEGER NOT NULL, after INTEGER NOT NULL, manual INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS beats_t ON beats (t);
CREATE INDEX IF NOT EXISTS decisions_t ON decisions (t);
CREATE INDEX IF NOT EXISTS scales_t ON scales (t);
"""
ACTIONS = frozenset({"scale", "dry-run", "paused", "cooling", "hold"})
# What the adaptive policy learns from at start: the last 15 days, at most 50,000 beats.
PRIME_DAYS = 15.0
PRIME_ROWS = 50_000
PRIME_MINUTE_S = 60.0  # "minutes learnt" are wall-clock minutes


def default_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("autoscalebot") / FILE_NAME


class History:
    """The SQLite history; call it with engine events (a sink)."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._writes = 0
        self.dropped = 0
        """Rows not written because another bot held the file (history is best effort)."""
        self._db = self._connect()

    @classmethod
    def open(cls, path: Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> History:
        return cls(path or default_path(), max_bytes=max_bytes)

    # ---- the file ----

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return self._prepare()
        except sqlite3.DatabaseError:
            # Not ours, or broken: keep it aside for a look, and start again.
            os.replace(self.path, self.path.with_suffix(".bad"))
            return self._prepare()

    def _prepare(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        if fresh:
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_MS / 1000)
        try:
            if fresh:
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            # Several bots on one machine share the file: write-ahead logging and a
            # commit per row keep each write's lock to a moment (no fsync per row).
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema {row[0]!r}, not {SCHEMA_VERSION}")
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._db.commit()
            self._db.close()

    # ---- the sink ----

    def __call__(self, event: Any) -> None:
        self.record(event)

    def sink_for(self, formation: str) -> Any:
        """The sink of one formation: its rows say ``formation``."""
        return lambda event: self.record(event, formation)

    def record(self, event: Any, formation: str = "") -> None:
        """Write one engine event (beats, decisions and scales; the rest are not kept)."""
        kind = getattr(event, "kind", "")
        t = event.at.timestamp()
        if kind == "beat":
            row: tuple[Any, ...] = (
                formation,
                t,
                event.latency_ms,
                event.status,
                int(event.outcome != "fail" and event.error is None),
                event.current,
            )
            sql = "INSERT INTO beats VALUES (?, ?, ?, ?, ?, ?)"
        elif kind == "decision":
            action = event.action if event.action in ACTIONS else "other"
            row = (formation, t, event.current, event.target, action)
            sql = "INSERT INTO decisions VALUES (?, ?, ?, ?, ?)"
        elif kind == "scale":
            row = (formation, t, event.before, event.after, int(event.manual))
            sql = "INSERT INTO scales VALUES (?, ?, ?, ?, ?)"
        else:
            return
        with self._lock:
            try:
                self._db.execute(sql, row)
                self._db.commit()
                self._writes += 1
                if self._writes % CHECK_EVERY == 0:
                    self._trim()
            except sqlite3.OperationalError:  # another bot holds it: this row goes
                self.dropped += 1
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()

    def size_bytes(self) -> int:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        size = self._db.execute("PRAGMA page_size").fetchone()[0]
        return int(pages * size)

    def _trim(self) -> None:
        self._db.commit()
        while self.size_bytes() > self.max_bytes:
            for table in TABLES:
                n = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                drop = max(1, math.ceil(n * DROP_SHARE)) if n else 0
                self._db.execute(
                    f"DELETE FROM {table} WHERE rowid IN "  # noqa: S608 (fixed table names)
                    f"(SELECT rowid FROM {table} ORDER BY t LIMIT ?)",
                    (drop,),
                )
            self._db.commit()
            self._db.execute("PRAGMA incremental_vacuum")
            self._db.commit()
            if not any(
                self._db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()  # noqa: S608
                for t in TABLES
            ):
                break

    # ---- reading ----

    def flush(self) -> None:
        with self._lock:
            self._db.commit()

    def formations(self) -> list[str]:
        """The formations with beats kept."""
        self.flush()
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT formation FROM beats").fetchall()
        return sorted(r[0] for r in rows)

    def beats(
        self, formation: str | None = None, *, since: float | None = None, limit: int | None = None
    ) -> list[tuple[float, float | None, int | None, bool, int | None]]:
        """(t, latency_ms, status, ok, dynos) of every beat kept (of one formation), oldest first;
        only those from ``since`` (epoch seconds) on, and only the newest ``limit``, when given."""
        self.flush()
        terms: list[str] = []
        args: list[Any] = []
        if formation is not None:
            terms.append("formation = ?")
            args.append(formation)
        if since is not None:
            terms.append("t >= ?")
            args.append(since)
        where = f"WHERE {' AND '.join(terms)}" if terms else ""
        order = "ORDER BY t" if limit is None else "ORDER BY t DESC LIMIT ?"
        if limit is not None:
            args.append(limit)
        with self._lock:
            rows = self._db.execute(
                f"SELECT t, latency_ms, status, ok, dynos FROM beats {where} {order}",  # noqa: S608
                args,
            ).fetchall()
        if limit is not None:
            rows.reverse()
        return [(t, ms, st, bool(ok), n) for t, ms, st, ok, n in rows]

    def counts(self) -> dict[str, int]:
        self.flush()
        with self._lock:
            return {
                t: self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                for t in TABLES
            }


def traffic(
    beats: list[tuple[float, float | None, int | None, bool, int | None]],
    *,
    service_ms: float,
    concurrency: int,
    timeout_ms: float,
    step_s: float = 60.0,
) -> tuple[datetime, list[float]]:
    """(start, requests per second per step) the recorded beats point to.

    Per step: the mean latency of its beats (a failed beat counts as the
    timeout) read as a utilisation of the M/M/k dyno, times the dynos
    counted and what one serves. A step without beats repeats the step
    before. Load the beats cannot see (above saturation) reads as saturation.
    """
    if not beats:
        raise ValueError("no beats recorded")
    start = beats[0][0]
    steps = int((beats[-1][0] - start) // step_s) + 1
    sums = [0.0] * steps
    counts = [0] * steps
    dynos = [0] * steps
    for t, ms, _, ok, n in beats:
        i = int((t - start) // step_s)
        sums[i] += ms if ok and ms is not None else timeout_ms
        counts[i] += 1
        dynos[i] = max(dynos[i], n or 0)
    per_dyno = concurrency * 1000.0 / service_ms
    out: list[float] = []
    for i in range(steps):
        if counts[i] == 0 or dynos[i] == 0:
            out.append(out[-1] if out else 0.0)
            continue
        rho = utilisation_from_mean(concurrency, sums[i] / counts[i] / service_ms)
        out.append(rho * dynos[i] * per_dyno)
    return datetime.fromtimestamp(start, UTC), out


def traffic_of(
    beats: list[tuple[float, float | None, int | None, bool, int | None]],
    settings: Settings,
    step_s: float = 60.0,
) -> tuple[datetime, list[float]]:
    """:func:`traffic` read through the ``APP_*`` settings and the heartbeat's timeout."""
    return traffic(
        beats,
        service_ms=settings.app_service_time_in_ms,
        concurrency=settings.app_concurrency,
        timeout_ms=settings.heartbeat_timeout * 1000.0,
        step_s=step_s,
    )


def prime_from_history(history: History, engine: Any, formation: str) -> int | None:
    """Teach ``engine``'s policy what repeats in the beats recorded for ``formation``.

    For a policy with a ``prime(beats)`` method (the adaptive one), before the
    first beat: the beats of the last :data:`PRIME_DAYS` days (the newest
    :data:`PRIME_ROWS` at most), each as (its time on the policy's own clock,
    the engine clock's ``monotonic()``; its latency in ms, or None when it
    failed; the dynos serving it). A beat with no dyno serving says nothing
    of the load and is left out; so is a time without beats (the bot was
    down): no load is invented for it.

    Returns the minutes learnt (minutes with at least one such beat), for the
    caller to say; None for a policy that learns nothing this way. A history
    that cannot be read is one warning, never an error: the policy then
    learns from its own beats only.
    """
    prime = getattr(engine.policy, "prime", None)
    if not callable(prime):
        return None
    try:
        clock = engine.clock
        wall = clock.now().timestamp()
        offset = wall - clock.monotonic()  # wall-clock seconds less the policy's
        beats = [
            (t - offset, ms if ok else None, dynos)
            for t, ms, _status, ok, dynos in history.beats(
                formation, since=wall - PRIME_DAYS * 86400.0, limit=PRIME_ROWS
            )
            if t <= wall and dynos  # a clock set back: no load from "the future"
        ]
        prime(beats)
    except Exception as exc:  # best effort: the bot runs on without it
        log.warning(
            "%s: the recorded load was not learnt (%s: %s); what repeats is learnt from new beats",
            formation,
            type(exc).__name__,
            exc,
        )
        return None
    return len({int((t + offset) // PRIME_MINUTE_S) for t, _, _ in beats})


def recent_beats(formation: str, limit: int, path: Path | None = None) -> list[Any]:
    """The newest ``limit`` beats recorded for ``formation``, as engine ``Beat``
    events (oldest first), for a console that starts with the history on screen.

    Read-only: a missing or unreadable file (or one of another schema) is no
    history, never an error, and is never created or changed here.
    """
    from autoscalebot.engine import events as ev

    path = path or default_path()
    if limit <= 0 or not path.is_file():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        rows = db.execute(
            "SELECT t, latency_ms, status, ok, dynos FROM beats WHERE formation = ? "
            "ORDER BY t DESC LIMIT ?",
            (formation, limit),
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    return [
        ev.Beat(
            at=datetime.fromtimestamp(t, UTC),
            latency_ms=ms,
            status=status,
            error=None if ok else "recorded as failed",
            outcome="ok" if ok else "fail",
            streaks={},
            current=dynos,
        )
        for t, ms, status, ok, dynos in reversed(rows)
    ]

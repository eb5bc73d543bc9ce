"""The local history: beats, decisions and scales to SQLite, bounded, kept, and replayed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from autoscalebot.engine import events as ev
from autoscalebot.history import History, traffic
from autoscalebot.sim.cli import main

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SECRET = "hunter2-token-abcdef"


def beat(i: int, ms: float | None = 150.0, dynos: int = 3, error: str | None = None) -> ev.Beat:
    return ev.Beat(
        at=T0 + timedelta(seconds=30 * i),
        latency_ms=ms,
        status=200 if error is None else None,
        error=error,
        outcome="ok" if error is None else "fail",
        streaks={},
        current=dynos,
    )


def test_beats_decisions_and_scales_are_kept_as_numbers_and_never_their_words(tmp_path):
    path = tmp_path / "h.sqlite3"
    h = History(path)
    h(beat(0))
    h(beat(1, None, error=f"connect to https://user:{SECRET}@app failed"))
    h(ev.Decided(at=T0, current=3, target=4, reason=f"token {SECRET}", action="scale"))
    h(ev.Scaled(at=T0, before=3, after=4, reason=f"token {SECRET}", manual=False))
    assert h.counts()["beats"] >= 2 and h.counts()["decisions"] == 1 and h.counts()["scales"] == 1
    assert [b[3] for b in h.beats()[:2]] == [True, False]  # the failed beat: not ok, no text
    h.close()
    assert SECRET.encode() not in path.read_bytes()
    assert path.stat().st_mode & 0o077 == 0  # the user's own


def test_it_survives_a_restart(tmp_path):
    path = tmp_path / "h.sqlite3"
    h = History(path)
    for i in range(10):
        h(beat(i))
    h.close()
    again = History(path)
    again(beat(10))
    assert again.counts()["beats"] == 11
    again.close()


def test_the_file_stays_under_its_cap_and_drops_the_oldest(tmp_path):
    h = History(tmp_path / "h.sqlite3", max_bytes=128 * 1024)
    for i in range(20_000):
        h(beat(i))
    h.flush()
    assert h.size_bytes() <= 128 * 1024
    kept = h.beats()
    assert 0 < len(kept) < 20_000
    assert kept[-1][0] == beat(19_999).at.timestamp()  # the newest stay
    h.close()


def test_a_file_that_is_not_a_history_is_moved_aside(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    h = History(path)
    h(beat(0))
    assert h.counts()["beats"] == 1
    h.close()
    assert (tmp_path / "h.bad").read_bytes().startswith(b"not a database")
    sqlite3.connect(path).close()


def test_recorded_beats_read_back_as_load_through_the_app_model():
    beats = [(60.0 * i, 100.0, 200, True, 2) for i in range(5)]  # idle: ~0 load
    beats += [(300.0 + 60.0 * i, 340.0, 200, True, 2) for i in range(5)]  # ~84 % busy
    start, rps = traffic(beats, service_ms=100.0, concurrency=2, timeout_ms=2000.0)
    assert start == datetime.fromtimestamp(0, UTC)
    assert rps[0] < 1.0 and 30.0 < rps[-1] < 36.0  # 2 dynos x 20 rps x ~0.84


def test_simulate_replays_the_history(tmp_path, capsys):
    path = tmp_path / "h.sqlite3"
    h = History(path)
    for i in range(6 * 120):  # six hours: calm, then busier
        h(beat(i, 120.0 if i < 360 else 400.0, dynos=3))
    h.close()
    assert main(["--trace", "history", "--history", str(path), "--no-chart", "--compare"]) == 0
    out = capsys.readouterr().out
    assert str(path) in out and "0.25 days" in out and "adaptive" in out


def test_simulate_says_when_there_is_no_history(tmp_path, capsys):
    assert main(["--trace", "history", "--history", str(tmp_path / "none.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert "--trace" in err and "no history" in err


def test_a_bot_never_waits_on_another_bots_history(tmp_path):
    import time

    from autoscalebot.engine import events as ev

    path = tmp_path / "history.sqlite3"
    one, other = History(path), History(path)
    beat = ev.Beat(datetime(2026, 1, 5, tzinfo=UTC), 100.0, 200, None, "ok", {}, 1)
    # The other bot holds the write lock (a long transaction of its own).
    other._db.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    one.record(beat, "shop/web")
    assert time.monotonic() - started < 1.0  # a moment, not a stalled beat
    assert one.dropped == 1
    other._db.rollback()
    one.record(beat, "shop/web")
    other.record(beat, "blog/web")
    assert len(one.beats("shop/web")) == 1 and len(one.beats("blog/web")) == 1
    one.close()
    other.close()

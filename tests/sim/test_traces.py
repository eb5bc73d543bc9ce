"""Load traces: seeded families, CSV files and Heroku router logs."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoscalebot.sim import traces
from autoscalebot.sim.traces import FAMILIES, TraceError, generate, load, load_csv, load_router_log


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_trace_other_seed_other_trace(family):
    a = generate(family, days=2, seed=3)
    assert a == generate(family, days=2, seed=3)
    assert a.rps != generate(family, days=2, seed=4).rps
    assert len(a.rps) == 2 * 1440 and min(a.rps) >= 0.0


def test_a_family_does_not_change_when_another_is_asked_for_first():
    first = generate("step", days=1, seed=1)
    generate("flash", days=1, seed=1)
    assert generate("step", days=1, seed=1) == first


def test_diurnal_has_two_humps_and_a_weekend_dip():
    t = generate("diurnal", days=7, seed=2, peak_rps=100.0)
    day = 1440
    weekdays = statistics.fmean(t.rps[: 5 * day])
    weekend = statistics.fmean(t.rps[5 * day :])
    assert weekend < 0.8 * weekdays
    hourly = [
        statistics.fmean(
            v for d in range(5) for v in t.rps[d * day + h * 60 : d * day + h * 60 + 60]
        )
        for h in range(24)
    ]
    assert hourly[4] < 0.3 * max(hourly)  # quiet night
    assert max(hourly[9:14]) == max(hourly)  # the morning hump is the big one
    assert hourly[20] > 1.2 * min(hourly[14:19])  # a dip, then the evening hump


def test_flash_crowds_ramp_and_decay_on_top_of_the_day():
    base = generate("diurnal", days=3, seed=5)
    t = generate("flash", days=3, seed=5)
    assert t.events
    start = int(t.events[0] // 60)
    bump = [a - b for a, b in zip(t.rps, base.rps, strict=False)]
    assert t.peak > base.peak or max(bump) > 0.5 * base.peak
    assert bump[start - 1] < 1e-6
    top = max(range(start, start + 80), key=lambda i: bump[i])
    assert bump[top] > bump[top + 30] > bump[top + 120] >= 0.0


def test_square_wave_half_period_is_the_decision_window():
    t = generate("square", days=1, seed=1, window_s=240.0)
    gaps = {b - a for a, b in zip(t.events, t.events[1:], strict=False)}
    assert gaps == {480.0}


def test_steps_are_marked_where_load_jumps_up():
    t = generate("step", days=3, seed=1)
    assert t.events
    for e in t.events:
        i = int(e // 60)
        assert statistics.fmean(t.rps[i : i + 10]) > statistics.fmean(t.rps[i - 10 : i])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_header_iso_and_unix_times_is_resampled_by_holding(tmp_path):
    path = write(
        tmp_path,
        "load.csv",
        "timestamp, requests_per_second\n2026-01-05T00:00:00Z, 10\n# a comment\n\n2026-01-05T00:03:00+00:00, 40\n1767571440, 20\n",
    )
    t = load_csv(path)
    assert t.start == datetime(2026, 1, 5, tzinfo=UTC)
    assert t.rps == (10.0, 10.0, 10.0, 40.0, 20.0)
    assert t.source == str(path)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("timestamp,rps\n2026-01-05T00:00:00Z,10\nyesterday,5\n", 3, "timestamp"),
        ("2026-01-05T00:00:00Z,10\n2026-01-05T00:01:00Z,lots\n", 2, "not a number"),
        ("2026-01-05T00:00:00Z,10\n2026-01-05T00:01:00Z,-3\n", 2, "0 or more"),
        ("2026-01-05T00:01:00Z,10\n2026-01-05T00:00:00Z,3\n", 2, "not after"),
        ("2026-01-05T00:00:00Z,10,3\n", 1, "expected"),
    ],
)
def test_a_bad_csv_row_is_an_error_naming_its_line(tmp_path, text, line, words):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(TraceError, match=rf"bad\.csv:{line}: .*{words}"):
        load_csv(path)


def test_an_empty_csv_is_an_error(tmp_path):
    with pytest.raises(TraceError, match="no 'timestamp"):
        load_csv(write(tmp_path, "empty.csv", "timestamp,requests_per_second\n"))


ROUTER = (
    '2026-01-05T10:00:{s:02d}.{ms:06d}+00:00 heroku[router]: at=info method=GET path="/p" host=app.herokuapp.com '
    'request_id=a1 fwd="1.2.3.4" dyno=web.1 connect=1ms service={svc}ms status=200 bytes=120 protocol=https'
)


def test_router_lines_are_counted_per_minute(tmp_path):
    lines = [ROUTER.format(s=s, ms=0, svc=20) for s in range(0, 60, 2)]  # 30 in the first minute
    lines.append("2026-01-05T10:00:30.000000+00:00 app[web.1]: Completed 200 OK in 12ms")
    lines.append(
        '<158>1 2026-01-05T10:01:05.5+00:00 host heroku router - at=info method=GET path="/" host=a '
        'request_id=b fwd="1.1.1.1" dyno=web.2 connect=0ms service=40ms status=200 bytes=9'
    )
    lines.append(
        '2026-01-05T10:01:20+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET '
        'path="/" host=a request_id=c fwd="1.1.1.1" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0'
    )
    t = load_router_log(write(tmp_path, "router.log", "\n".join(lines) + "\n"))
    assert t.rps == (0.5, 2 / 60)
    assert t.service_ms == pytest.approx((30 * 20 + 40) / 31)  # answered requests only


def test_a_broken_router_line_is_an_error_naming_it(tmp_path):
    good = ROUTER.format(s=1, ms=0, svc=20)
    path = write(tmp_path, "router.log", good + "\nheroku[router]: at=info method=GET status=200\n")
    with pytest.raises(TraceError, match=r"router\.log:2: .*timestamp"):
        load_router_log(path)
    path = write(
        tmp_path, "router2.log", "2026-01-05T10:00:01Z heroku[router]: method=GET path=/\n"
    )
    with pytest.raises(TraceError, match=r"router2\.log:1: .*at= and status="):
        load_router_log(path)


def test_a_log_without_router_lines_is_an_error(tmp_path):
    with pytest.raises(TraceError, match="no Heroku router lines"):
        load_router_log(write(tmp_path, "app.log", "2026-01-05T10:00:00Z app[web.1]: hello\n"))


def test_load_picks_family_csv_or_log_and_trims_to_days(tmp_path):
    assert load("diurnal", days=1, seed=1) == generate("diurnal", days=1, seed=1)
    rows = "\n".join(f"{i * 3600},5" for i in range(48))
    t = load(str(write(tmp_path, "two-days.csv", rows)), days=1)
    assert t.duration_s == 86400.0
    with pytest.raises(TraceError, match="neither a trace family"):
        load(str(tmp_path / "missing.csv"))
    with pytest.raises(TraceError, match="folder"):
        load(str(tmp_path))


def test_csv_round_trip(tmp_path):
    t = generate("step", days=0.1, seed=1)
    back = load_csv(write(tmp_path, "t.csv", traces.to_csv(t)))
    assert back.rps == pytest.approx(t.rps, abs=1e-4)

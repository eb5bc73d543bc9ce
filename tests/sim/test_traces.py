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
    assert len(a.rps) * a.step_s == 2 * 86400.0 and min(a.rps) >= 0.0


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


def test_csv_with_header_iso_and_unix_times_holds_each_value_until_the_next_row(tmp_path):
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


def test_sub_minute_csv_rows_are_averaged_over_the_minute_not_sampled(tmp_path):
    # A 10 s spike to 600 rps at 00:00:20 within a calm minute: sampling at :00 misses it.
    rows = "0,10\n20,600\n30,10\n60,10\n90,40\n"
    t = load_csv(write(tmp_path, "fine.csv", rows))
    assert t.rps[0] == pytest.approx((20 * 10 + 10 * 600 + 30 * 10) / 60)
    assert t.rps[1] == pytest.approx((30 * 10 + 30 * 40) / 60)  # the last row holds 30 s


def test_a_file_scaled_to_a_peak_keeps_its_shape():
    t = generate("diurnal", days=1, seed=1, peak_rps=100.0)
    big = traces.scaled(t, 2.0 * t.peak)
    assert big.peak == pytest.approx(2.0 * t.peak)
    assert big.rps[100] == pytest.approx(2.0 * t.rps[100])
    with pytest.raises(TraceError, match="no load"):
        traces.scaled(traces.Trace("zero", (0.0, 0.0)), 10.0)


def test_burst_spikes_are_shorter_than_a_boot_to_rise_and_a_few_minutes_long():
    t = generate("burst", days=1, seed=2, peak_rps=100.0)
    assert t.step_s == 10.0 and t.events
    for e in t.events[:5]:
        i = int(e // t.step_s)
        before, top = t.rps[i - 1], max(t.rps[i : i + 6])  # within 60 s
        assert top > 1.8 * before  # at least doubled in under a minute
        assert t.rps[i + 60] < 1.3 * before  # gone ten minutes later


def test_scheduled_load_repeats_on_the_hour_and_at_the_same_time_each_day():
    t = generate("scheduled", days=3, seed=5, peak_rps=100.0)
    hourly = [e % 3600.0 for e in t.events]
    minute = statistics.mode(round(h) for h in hourly)
    assert sum(round(h) == minute for h in hourly) >= 3 * 24  # every hour of every day
    daily = sorted({round(e % 86400.0) for e in t.events if round(e % 3600.0) != minute})
    assert len(daily) == 1  # the newsletter: the same moment each day


def test_viral_bursts_feed_on_themselves():
    t = generate("viral", days=2, seed=1, peak_rps=100.0)
    e = t.events[0]
    i = int(e // 60.0)
    added = [t.rps[i + m] - t.rps[i - 1] for m in (5, 10, 15)]
    # Growth is multiplicative: each 5 min adds more than the 5 min before.
    assert added[2] - added[1] > added[1] - added[0] > 0


def test_launches_climb_over_hours_and_stay():
    t = generate("launch", days=7, seed=4, peak_rps=100.0)
    hours = [statistics.fmean(t.rps[h * 60 : h * 60 + 60]) for h in range(7 * 24)]
    biggest = max(abs(b - a) for a, b in zip(hours, hours[1:], strict=False))
    assert biggest < 0.35 * max(hours)  # no hour jumps: the climbs take hours
    assert max(hours) > 2.0 * min(hours)


def test_a_small_app_needs_one_to_three_dynos():
    from autoscalebot.sim.model import AppModel, needed_dynos

    t = generate("small", days=7, seed=3, peak_rps=150.0)
    need = {needed_dynos(AppModel(), rps, 1000.0, 0.05) for rps in t.rps}
    assert min(need) == 1 and max(need) <= 3

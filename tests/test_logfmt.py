"""The headless log: one event is one physical line for any reader, and the
l2met metric fields a Heroku log drain charts."""

from __future__ import annotations

import io
import shlex
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from autoscalebot.backends.base import Notification
from autoscalebot.engine import events as ev
from autoscalebot.logfmt import LogfmtSink, escape_controls, fields, format_value, line

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

# Every character some reader takes as a line break, and the controls around them.
BREAKERS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
hostile = st.text(
    alphabet=st.one_of(
        st.sampled_from([*BREAKERS, "\x00", "\x1b", "\x7f", "\x9b", '"', "\\", "=", " ", "#"]),
        st.characters(),
    )
)


def texts_of(text: str) -> list[ev.Event]:
    """An event of every kind that carries outside text, each carrying ``text``."""
    return [
        ev.Started(at=AT, app=text, current=1, min=1, max=4, dry_run=False),
        ev.Beat(
            at=AT,
            latency_ms=None,
            status=503,
            error=text,
            outcome="fail",
            streaks={text: (1, 3)},
            current=2,
        ),
        ev.Decided(at=AT, current=1, target=2, reason=text, action="scale"),
        ev.Scaled(at=AT, before=1, after=2, reason=text, manual=False),
        ev.ScaleFailed(at=AT, current=1, target=2, reason=text),
        ev.Trouble(at=AT, source=text, reason=text),
        ev.Recovered(at=AT, source=text),
        ev.Notified(at=AT, notification=Notification(kind=text, message=text, reason=text, at=AT)),
        ev.OperatorAction(at=AT, action=text, detail=text, accepted=False),
        ev.Stopped(at=AT, reason=text),
    ]


@given(hostile)
def test_any_event_text_is_one_physical_line(text: str) -> None:
    out = io.StringIO()
    sink = LogfmtSink(out)
    events = texts_of(text)
    for event in events:
        sink(event)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(events)
    for written in lines:
        assert written.startswith("at=2026-11-28T10:00:00.000Z event=")


@given(hostile)
def test_a_value_reads_back_as_one_token_with_its_text(text: str) -> None:
    # shlex reads the quoted value back (POSIX quoting: \\ and \" unescape);
    # the escaped controls stay escaped, the rest is the text itself.
    token = format_value(text)
    assert not set(token) & set(BREAKERS)
    (read,) = shlex.split("k=" + token, posix=True) if token else ["k="]
    assert read == "k=" + escape_controls(text)


def test_a_trailing_newline_is_escaped_not_written_bare() -> None:
    assert format_value("abc\n") == '"abc\\n"'


def test_line_breaks_and_controls_are_named_by_their_code() -> None:
    assert escape_controls("a\u2028b\x85c\x1bd\x9be\u202e") == (
        "a\\u2028b\\x85c\\x1bd\\x9be\\u202e"
    )
    assert format_value("[/api/v3] [bold]") == '"[/api/v3] [bold]"'


def test_odd_keys_stay_single_tokens() -> None:
    assert line({"a b=c\n": 1, "ok": 2}) == "a_b_c_=1 ok=2"


def test_a_beat_line_carries_l2met_sample_measure_and_count() -> None:
    beat = ev.Beat(
        at=AT,
        latency_ms=1350.0,
        status=200,
        error=None,
        outcome="fail",
        streaks={"fails": (2, 3), "passes": (0, 5)},
        current=3,
    )
    text = line(fields(beat) or {})
    pairs = dict(pair.split("=", 1) for pair in shlex.split(text))
    assert pairs["sample#autoscalebot.dynos"] == "3"
    assert pairs["measure#autoscalebot.latency"] == "1350.0ms"
    assert pairs["count#autoscalebot.beats.fail"] == "1"
    assert pairs["sample#autoscalebot.streak.fails"] == "2"
    # the readable fields are still there, first
    assert text.startswith("at=2026-11-28T10:00:00.000Z event=beat latency_ms=1350.0")


def test_a_beat_with_no_answer_measures_nothing() -> None:
    beat = ev.Beat(
        at=AT, latency_ms=None, status=None, error="timeout", outcome="fail", streaks={}, current=2
    )
    pairs = fields(beat) or {}
    assert not any(key.startswith("measure#") for key in pairs)
    assert pairs["count#autoscalebot.beats.fail"] == "1"


def test_scales_failures_and_trouble_are_counted() -> None:
    scaled = fields(ev.Scaled(at=AT, before=2, after=3, reason="r", manual=False)) or {}
    assert scaled["count#autoscalebot.scales"] == "1"
    assert scaled["sample#autoscalebot.dynos"] == "3"
    failed = fields(ev.ScaleFailed(at=AT, current=2, target=3, reason="503")) or {}
    assert failed["count#autoscalebot.scale_failures"] == "1"
    trouble = fields(ev.Trouble(at=AT, source="probe", reason="refused")) or {}
    assert trouble["count#autoscalebot.trouble"] == "1"
    assert trouble["source"] == "probe"  # l2met's qualifier: trouble per failing part
    started = fields(ev.Started(at=AT, app="shop", current=2, min=1, max=4, dry_run=False)) or {}
    assert started["sample#autoscalebot.dynos.max"] == "4"
    assert not any("#" in key for key in fields(ev.Stopped(at=AT, reason="SIGTERM")) or {})

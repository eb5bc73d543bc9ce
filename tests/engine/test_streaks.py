"""The seed's decision rule, exactly as DESIGN states it."""

SLOW, FAST, OK = 1500, 100, 500


def test_three_slow_beats_scale_up_by_increment_once(harness):
    h = harness(count=1)
    h.beats(SLOW, SLOW)
    assert h.scaler.requests == []
    h.beats(SLOW)
    assert h.scaler.requests == [2]
    assert h.engine.current == 2


def test_scale_resets_streaks_so_next_scale_needs_a_full_streak(harness):
    h = harness(count=1)
    h.beats(SLOW, SLOW, SLOW, SLOW, SLOW)
    assert h.scaler.requests == [2]
    h.beats(SLOW)
    assert h.scaler.requests == [2, 3]


def test_five_fast_beats_scale_down(harness):
    h = harness(count=3)
    h.beats(FAST, FAST, FAST, FAST)
    assert h.scaler.requests == []
    h.beats(FAST)
    assert h.scaler.requests == [2]


def test_ok_beat_breaks_both_streaks(harness):
    h = harness(count=2)
    h.beats(SLOW, SLOW, OK, SLOW, SLOW)
    assert h.scaler.requests == []
    h.beats(FAST, FAST, FAST, FAST, OK, FAST)
    assert h.scaler.requests == []


def test_fail_breaks_pass_streak_and_vice_versa(harness):
    h = harness(count=2)
    h.beats(FAST, FAST, FAST, FAST, SLOW, FAST, FAST, FAST, FAST)
    assert h.scaler.requests == []
    h.beats(SLOW, SLOW, FAST, SLOW, SLOW)
    assert h.scaler.requests == []


def test_errors_and_bad_statuses_count_as_fails(harness):
    h = harness(count=1)
    h.beats(None, (50, 500), (50, 404))
    assert h.scaler.requests == [2]


def test_boundaries_are_strict(harness):
    # Exactly MAX is not "longer than MAX"; exactly MIN is not "faster than MIN".
    h = harness(count=2)
    h.beats(1000, 1000, 1000, 200, 200, 200, 200, 200)
    assert h.scaler.requests == []
    assert {b.outcome for b in h.of("beat")} == {"ok"}


def test_increment_and_clamp_to_max(harness):
    h = harness(count=2, INCREMENT=2, MAX_DYNOS=3)
    h.beats(SLOW, SLOW, SLOW)
    assert h.scaler.requests == [3]


def test_increment_clamped_to_min(harness):
    h = harness(count=3, INCREMENT=5, MIN_DYNOS=1, MAX_DYNOS=4)
    h.beats(*[FAST] * 5)
    assert h.scaler.requests == [1]


def test_at_max_no_request_is_made(harness):
    h = harness(count=3, MAX_DYNOS=3)
    h.beats(*[SLOW] * 10)
    assert h.scaler.requests == []


def test_reason_names_the_evidence(harness):
    h = harness(count=1)
    h.beats(1350, 1420, 1600)
    (scaled,) = h.of("scale")
    assert scaled.reason == "3 beats over 1000 ms: 1350, 1420, 1600"


def test_streak_counts_are_reported_on_each_beat(harness):
    h = harness(count=1)
    h.beats(SLOW, SLOW)
    assert [b.streaks["fails"] for b in h.of("beat")] == [(1, 3), (2, 3)]


def test_custom_thresholds(harness):
    h = harness(
        count=1,
        MAX_RESPONSE_TIME_IN_MS=300,
        MIN_RESPONSE_TIME_IN_MS=50,
        NUMBER_OF_FAILS_TO_SCALE_UP_AFTER=1,
    )
    h.beats(400)
    assert h.scaler.requests == [2]

"""Decision backend: the seed's consecutive-streak rule."""

from __future__ import annotations

from collections import deque
from typing import Any

from autoscalebot.backends.base import BaseBackend, Bounds, Measurement, Outcome, Verdict
from autoscalebot.config.settings import Settings


def classify(m: Measurement, settings: Settings) -> Outcome:
    """``fail``: slower than MAX, no answer, or status >= 400; ``pass``: faster than MIN."""
    if m.broken:
        return "fail"
    assert m.latency_ms is not None
    if m.latency_ms > settings.max_response_time_in_ms:
        return "fail"
    if m.latency_ms < settings.min_response_time_in_ms:
        return "pass"
    return "ok"


def _evidence(m: Measurement) -> str:
    """One beat in a reason's list: ``1350``, ``status 503`` or the error."""
    if not m.broken:
        return f"{m.latency_ms:.0f}"
    if m.error or m.latency_ms is None:
        return m.error or "no answer"
    return f"status {m.status}"


def _shown(beats: deque[Measurement]) -> str:
    """The evidence, a run of the same error said once: ``1350, timed out (×2)``."""
    runs: list[tuple[str, int]] = []
    for m in beats:
        text = _evidence(m)
        if runs and m.broken and runs[-1][0] == text:
            runs[-1] = (text, runs[-1][1] + 1)
        else:
            runs.append((text, 1))
    return ", ".join(text if n == 1 else f"{text} (×{n})" for text, n in runs)


def _beats(n: int) -> str:
    return f"{n} beat" if n == 1 else f"{n} beats"


class StreakPolicy(BaseBackend):
    """N consecutive fails → up by INCREMENT; M consecutive passes → down.

    An ``ok`` beat breaks both streaks; a fail breaks the pass streak and a
    pass the fail streak. The engine resets the streaks after every scale.
    """

    def __init__(self, settings: Settings, **_: Any) -> None:
        super().__init__(settings)
        self.configure(settings)
        self.fails: deque[Measurement] = deque()
        self.passes: deque[Measurement] = deque()

    def configure(self, settings: Settings) -> None:
        self.s = settings

    def reset(self) -> None:
        self.fails.clear()
        self.passes.clear()

    def observe(self, m: Measurement, *, current: int, bounds: Bounds, now: float) -> Verdict:
        outcome = classify(m, self.s)
        need_fails = self.s.number_of_fails_to_scale_up_after
        need_passes = self.s.number_of_passes_to_scale_down_after
        if outcome == "fail":
            self.passes.clear()
            self.fails.append(m)
        elif outcome == "pass":
            self.fails.clear()
            self.passes.append(m)
        else:
            self.reset()
        # Keep only the evidence the reason shows; counts past the limit still want.
        while len(self.fails) > need_fails:
            self.fails.popleft()
        while len(self.passes) > need_passes:
            self.passes.popleft()
        streaks = {
            "fails": (len(self.fails), need_fails),
            "passes": (len(self.passes), need_passes),
        }
        wanted, reason = None, ""
        if len(self.fails) >= need_fails:
            wanted = current + self.s.increment
            errors = {_evidence(x) for x in self.fails if x.broken}
            if all(x.broken for x in self.fails) and len(errors) == 1:
                # "3 beats failed: connection refused", not the error three times.
                reason = f"{_beats(need_fails)} failed: {errors.pop()}"
            else:
                limit = f"{self.s.max_response_time_in_ms:g} ms"
                verb = "failed or took over" if any(x.broken for x in self.fails) else "over"
                reason = f"{_beats(need_fails)} {verb} {limit}: {_shown(self.fails)}"
        elif len(self.passes) >= need_passes:
            wanted = current - self.s.increment
            limit = f"{self.s.min_response_time_in_ms:g} ms"
            reason = f"{_beats(need_passes)} under {limit}: {_shown(self.passes)}"
        return Verdict(outcome=outcome, wanted=wanted, reason=reason, streaks=streaks)

"""What repeats: load that comes back at the same phase of an hour or a day.

A :class:`Repeats` learns, per period (an hour, a day, a week), the mean
load in each minute of the period, cycle by cycle. What it foresees is a
*rise*: how much the load went up, in each of the last few
cycles, from the phase of now to a coming phase (a minute either side, for
jitter), the least of those over the cycles. Only what came back every time
is foreseen, so one flash crowd is never repeated; a trend (the afternoon's
slow fall) is no rise; and a pattern that breaks (the hourly job was
switched off) is forgotten after one cycle without it, leaving the reactive
rules alone in charge.

Time is the policy's ``now`` (seconds on any steady clock): a period's phase
is ``now mod period``, which keeps wall-clock patterns aligned while the
clock runs. ``load()`` and ``dump()`` carry the learnt table across restarts
(the history store keeps it with wall-clock times).
"""

from __future__ import annotations

from collections.abc import Iterable

HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
# (period, cycles that must agree): an hourly job shows three times before it is
# trusted; a daily or weekly peak twice.
PERIODS: tuple[tuple[float, int], ...] = ((HOUR, 3), (DAY, 2), (WEEK, 2))
BIN_S = 60.0
JITTER_BINS = 1


class Repeats:
    """Per period: cycle -> {minute of the period: most dynos needed}; bounded to the cycles used."""

    def __init__(
        self, periods: Iterable[tuple[float, int]] = PERIODS, bin_s: float = BIN_S
    ) -> None:
        self.periods = tuple(periods)
        self.bin_s = bin_s
        # period -> cycle -> minute -> [sum of loads, beats]
        self.cycles: dict[float, dict[int, dict[int, list[float]]]] = {
            p: {} for p, _ in self.periods
        }
        self._last: tuple[tuple[int, int], tuple[float, float | None]] | None = None

    def add(self, now: float, load: float) -> None:
        """The load at ``now``, in requests per second (as the beats point to it)."""
        for period, keep in self.periods:
            cycle = int(now // period)
            table = self.cycles[period]
            row = table.get(cycle)
            if row is None:
                row = table[cycle] = {}
                for old in [c for c in table if c < cycle - keep]:
                    del table[old]
            b = int(now % period // self.bin_s)
            cell = row.get(b)
            if cell is None:
                row[b] = [load, 1.0]
            else:
                cell[0] += load
                cell[1] += 1.0

    def _value(self, row: dict[int, list[float]], b: int, bins_per: int, lo: int, hi: int) -> float:
        """The mean load over minutes ``b + lo .. b + hi`` of one cycle (0 where none was seen)."""
        total = count = 0.0
        for j in range(lo, hi + 1):
            cell = row.get((b + j) % bins_per)
            if cell is not None:
                total += cell[0]
                count += cell[1]
        return total / count if count else 0.0

    def rise(self, now: float, end: float) -> tuple[float, float | None]:
        """(the most the load rose by, from ``now`` to a moment up to ``end``, in every one of the last cycles; its period).

        Per period, in each of its last cycles: the mean load at the coming
        phase (that minute and the next, for jitter) less the mean load at
        the phase of ``now`` (the three minutes up to it). The least of those over the
        cycles is what repeats; 0 and None when nothing does. A rise, not a
        level: a trend (the afternoon's fall) is no rise; a job on the hour is.
        """
        key = (int(now // self.bin_s), int(end // self.bin_s))
        if self._last is not None and self._last[0] == key:
            return self._last[1]  # past cycles do not change: the same minutes, the same answer
        best, which = 0.0, None
        for period, keep in self.periods:
            table = self.cycles[period]
            bins_per = round(period / self.bin_s)
            cycle_now = int(now // period)
            rows = [table.get(cycle_now - back) for back in range(1, keep + 1)]
            if not all(rows):
                continue
            b0 = int(now % period // self.bin_s)
            bases = [self._value(r, b0, bins_per, -2, 0) for r in rows if r]
            t = now + self.bin_s
            while t <= end + self.bin_s:
                b = int(t % period // self.bin_s)
                # A moment in the next cycle compares with the same phase one cycle on.
                up = min(
                    self._value(r, b, bins_per, 0, JITTER_BINS) - base
                    for r, base in zip(rows, bases, strict=True)
                    if r
                )
                if up > best:
                    best, which = up, period
                t += self.bin_s
        self._last = (key, (best, which))
        return best, which

    def dump(self) -> dict[str, dict[str, dict[str, list[float]]]]:
        """The table as plain data (JSON-able)."""
        return {
            f"{p:g}": {
                str(c): {str(b): list(cell) for b, cell in row.items()} for c, row in table.items()
            }
            for p, table in self.cycles.items()
        }

    def load(self, data: dict[str, dict[str, dict[str, list[float]]]]) -> None:
        """Take a table :meth:`dump` made; periods this instance does not use are ignored."""
        for key, table in data.items():
            period = float(key)
            if period in self.cycles:
                self.cycles[period] = {
                    int(c): {int(b): [float(cell[0]), float(cell[1])] for b, cell in row.items()}
                    for c, row in table.items()
                }

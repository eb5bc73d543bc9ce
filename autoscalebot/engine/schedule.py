"""Time-of-day schedules for MIN_DYNOS, MAX_DYNOS and notification thresholds.

A value is either a constant or ``{"H:MM": n, ...}``. An entry holds from its
time until the next entry; before the first entry of the day the last entry
still holds (it carried over from yesterday). Times are local to the
schedule's time zone.

On a spring-forward day an entry whose time does not exist (2:30 in New York,
where clocks go from 1:59 to 3:00) takes effect when the clock jumps, at the
first minute that exists (3:00): that is when the wall clock first passes the
entry, so it is both when the value changes and the time shown for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_KEY = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says which part."""


@dataclass(frozen=True)
class Schedule:
    """A piecewise-constant value over the day.

    ``entries`` is sorted by minute of day and never empty; a constant is a
    single entry at minute 0.
    """

    entries: tuple[tuple[int, int], ...]

    @classmethod
    def constant(cls, value: int) -> Schedule:
        """A schedule that is ``value`` all day."""
        return cls(((0, value),))

    @classmethod
    def parse(cls, raw: object) -> Schedule:
        """Read an int or a ``{"H:MM": int}`` mapping; raise ScheduleError."""
        if isinstance(raw, bool):
            raise ScheduleError(f"expected a whole number or a schedule, got {raw!r}")
        if isinstance(raw, int):
            _check_value(raw, where="")
            return cls.constant(raw)
        if isinstance(raw, dict):
            if not raw:
                raise ScheduleError('the schedule is empty; give at least one "H:MM": n entry')
            entries: dict[int, int] = {}
            for key, value in raw.items():
                minute = _parse_key(key)
                if minute in entries:
                    raise ScheduleError(f'"{key}" names the same time as another entry')
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ScheduleError(f'"{key}": expected a whole number, got {value!r}')
                _check_value(value, where=f'"{key}": ')
                entries[minute] = value
            return cls(tuple(sorted(entries.items())))
        raise ScheduleError(
            f'expected a whole number or a schedule like {{"0:00": 1, "9:00": 3}}, got {raw!r}'
        )

    @property
    def is_constant(self) -> bool:
        """True when the value never changes over the day."""
        return len({v for _, v in self.entries}) == 1

    def value_at_minute(self, minute: int) -> int:
        """The value at ``minute`` past local midnight."""
        value = self.entries[-1][1]  # wrap-around: yesterday's last entry
        for start, v in self.entries:
            if start <= minute:
                value = v
            else:
                break
        return value

    def value_at(self, moment: datetime, tz: tzinfo) -> int:
        """The value at an aware ``moment``, read in ``tz``."""
        local = moment.astimezone(tz)
        return self.value_at_minute(local.hour * 60 + local.minute)

    def change_minutes(self) -> list[int]:
        """Minutes of the day where the value may change."""
        return [m for m, _ in self.entries]

    def next_change(self, moment: datetime, tz: tzinfo) -> tuple[datetime, int] | None:
        """When the value next differs from now, and what it becomes."""
        if self.is_constant:
            return None
        local = moment.astimezone(tz)
        current = self.value_at(moment, tz)
        for day in range(0, 3):
            today = (local + timedelta(days=day)).date()
            for minute, _ in self.entries:
                at = _existing(today, minute, tz)
                # Instants compared, not wall times (the same tzinfo compares walls).
                if at.astimezone(UTC) > moment.astimezone(UTC):
                    value = self.value_at(at, tz)  # entries in one gap all start at its end
                    if value != current:
                        return at, value
        return None

    def to_raw(self) -> int | dict[str, int]:
        """The form a settings file uses (for saving)."""
        if len(self.entries) == 1 and self.entries[0][0] == 0:
            return self.entries[0][1]
        return {f"{m // 60}:{m % 60:02d}": v for m, v in self.entries}

    def __str__(self) -> str:
        raw = self.to_raw()
        if isinstance(raw, int):
            return str(raw)
        return ", ".join(f"{k}={v}" for k, v in raw.items())


def _existing(day: date, minute: int, tz: tzinfo) -> datetime:
    """``day`` at ``minute`` in ``tz``; a minute a spring-forward skipped moves to the gap's end."""
    for late in range(0, 24 * 60 - minute):
        m = minute + late
        at = datetime.combine(day, time(m // 60, m % 60), tzinfo=tz)
        # A wall time that does not exist does not survive the round trip through UTC.
        if at.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == at.replace(tzinfo=None):
            return at
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)


def _parse_key(key: object) -> int:
    if not isinstance(key, str) or not (match := _KEY.match(key.strip())):
        raise ScheduleError(f'bad time {key!r}: write times as "H:MM", e.g. "9:00" or "17:30"')
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(f'bad time "{key}": hours go 0-23 and minutes 00-59')
    return hour * 60 + minute


# No platform runs this many of one process type; a larger number is a typo.
MAX_COUNT = 10_000


def _check_value(value: int, where: str) -> None:
    if value < 0:
        raise ScheduleError(f"{where}{value} is negative; dyno counts are 0 or more")
    if value > MAX_COUNT:
        raise ScheduleError(f"{where}{value} is more than {MAX_COUNT:,} dynos; is it a typo?")

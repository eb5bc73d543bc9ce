"""How the console shows moments: wall-clock times in the settings' zone and
"in 3m 20s" relative to an injected now, so tests and snapshots are stable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo


def _system_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ClockFace:
    """Formats aware datetimes for display."""

    tz: tzinfo
    """The zone times are shown in (the schedules' zone, ``TIME_ZONE``)."""
    now: Callable[[], datetime] = _system_now
    """What "now" is; tests hand in a fake clock's ``now``."""

    def time(self, moment: datetime) -> str:
        """``14:03:07``."""
        return moment.astimezone(self.tz).strftime("%H:%M:%S")

    def hm(self, moment: datetime) -> str:
        """``14:03`` (schedule boundaries fall on whole minutes)."""
        return moment.astimezone(self.tz).strftime("%H:%M")

    def passed(self, moment: datetime) -> bool:
        """True once ``moment`` is here (what :meth:`left` would show as ``now``).

        Countdowns repaint every second between the engine's snapshots; a
        moment that has passed is stale news until the next snapshot."""
        return (moment - self.now()).total_seconds() < 0.5

    def left(self, moment: datetime) -> str:
        """Time from now until ``moment``: ``12s``, ``4m 05s``, ``3h 20m``, ``now``."""
        return duration((moment - self.now()).total_seconds())


def duration(seconds: float) -> str:
    """A short, human duration; ``now`` for anything not in the future."""
    if seconds < 0.5:
        return "now"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"

"""How the engine words counts and numbers in the text people read.

"1 dyno", "3 dynos"; a setting of 30 shows as ``30``, not ``30.0``.
"""

from __future__ import annotations

from typing import Any


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 dyno``, ``2 dynos``, ``0 dynos``."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def dynos(n: int) -> str:
    """``1 dyno`` or ``n dynos``."""
    return plural(n, "dyno")


def number(value: Any) -> str:
    """A value as people write it: whole floats without ``.0`` (``30``, ``0.5``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)

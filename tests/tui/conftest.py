"""The console's tests run on asyncio (Textual's loop), never on trio."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Textual runs on asyncio only."""
    return "asyncio"

"""Settings checks that several backends share, run when a backend is built."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from autoscalebot.config.settings import SPEC_BY_NAME, ConfigError, Settings


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (tests and the demo)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_absolute_heartbeat_url(settings: Settings, backend: str) -> None:
    """Refuse a relative ``HEARTBEAT_URL`` for scalers that cannot tell the app's URL.

    Without this the probe would fail every beat ("the app's URL is unknown")
    and the bot would read that as an app too slow to answer, and scale up.
    Only the built-in heartbeat probe resolves the URL, so other probes pass.
    """
    if settings.measurement_backend != SPEC_BY_NAME["MEASUREMENT_BACKEND"].default:
        return
    if not settings.heartbeat_url.startswith(("http://", "https://")):
        raise ConfigError(
            "HEARTBEAT_URL",
            f"{settings.heartbeat_url!r} is a path; the {backend} scaler does not know the app URL",
            "Set HEARTBEAT_URL to a full URL, e.g. http://127.0.0.1:8000/autoscalebot/heartbeat/.",
        )


def require_min_at_least_one(settings: Settings, why: str) -> None:
    """Refuse a ``MIN_DYNOS`` of 0 at any time of day (``why`` says who cannot do it)."""
    schedule = settings.min_dynos
    for minute in schedule.change_minutes() or [0]:
        if schedule.value_at_minute(minute) < 1:
            raise ConfigError(
                "MIN_DYNOS", f"is 0 at some time of day, but {why}", "Set MIN_DYNOS to 1 or more."
            )

"""Notification backends: Console, Logger, Test and DjangoEmail, as the seed names them.

Write your own by giving a class a ``send(notification)`` method and putting
its dotted path in ``NOTIFICATION_BACKENDS``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from autoscalebot.backends.base import BaseBackend, Notification

SUBJECTS = {
    "scale": "scaled",
    "scale_failed": "scaling failed",
    "needs_above_max": "needs more than MAX_DYNOS",
    "needs_below_min": "needs fewer than MIN_DYNOS",
    "scale_diff": "unusual amount of scaling",
    "ping": "heartbeat",
    "recovered": "recovered",
}


def subject(note: Notification) -> str:
    """A short subject line for ``note``."""
    return f"[autoscalebot] {SUBJECTS.get(note.kind, note.kind.replace('_', ' '))}"


class ConsoleBackend(BaseBackend):
    """Prints each notification as one line on standard output."""

    def __init__(self, settings: Any = None, *, stream: Any = None, **_: Any) -> None:
        super().__init__(settings)
        self.stream = stream

    def send(self, notification: Notification) -> None:
        stream = self.stream or sys.stdout
        print(
            f"{notification.at:%Y-%m-%d %H:%M:%S} {subject(notification)}: {notification}",
            file=stream,
            flush=True,
        )


class LoggerBackend(BaseBackend):
    """Sends each notification to the ``autoscalebot.notifications`` logger (WARNING for trouble)."""

    logger = logging.getLogger("autoscalebot.notifications")
    _WARN = {"scale_failed", "needs_above_max", "scale_diff"}

    def send(self, notification: Notification) -> None:
        level = logging.WARNING if notification.kind in self._WARN else logging.INFO
        self.logger.log(level, "%s: %s", subject(notification), notification)


class TestBackend(BaseBackend):
    """Keeps notifications in a list, for tests.

    ``messages`` is this instance's list; ``TestBackend.outbox`` collects from
    every instance (like Django's ``mail.outbox``); clear it between tests.
    """

    __test__ = False  # not a pytest test class
    outbox: list[Notification] = []

    def __init__(self, settings: Any = None, **_: Any) -> None:
        super().__init__(settings)
        self.messages: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.messages.append(notification)
        TestBackend.outbox.append(notification)


class DjangoEmailBackend(BaseBackend):
    """Mails ``ADMINS`` through Django's mail system, one subject per kind.

    The subject is ``[autoscalebot] <kind> (<app>)`` after Django's
    ``EMAIL_SUBJECT_PREFIX``; the body holds the message, the reason, the
    dyno counts and the time. Sending errors are raised (``fail_silently`` is
    off), so the engine reports a failing mail server instead of losing mail.
    Needs configured Django settings with ``ADMINS``: a configuration error at
    start-up otherwise.
    """

    def __init__(self, settings: Any = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        from autoscalebot.config.settings import ConfigError

        try:
            from django.conf import settings as django_settings
            from django.core.exceptions import ImproperlyConfigured
        except ImportError:
            raise ConfigError(
                "NOTIFICATION_BACKENDS",
                "DjangoEmailBackend needs Django, which is not installed",
                "Install autoscalebot[django], or choose another backend.",
            ) from None
        try:
            admins = django_settings.ADMINS
        except (ImproperlyConfigured, ImportError):  # no settings, or a bad DJANGO_SETTINGS_MODULE
            raise ConfigError(
                "NOTIFICATION_BACKENDS",
                "DjangoEmailBackend needs Django settings",
                "Run the bot with 'manage.py run_autoscalebot', or choose another backend.",
            ) from None
        if not admins:
            raise ConfigError(
                "NOTIFICATION_BACKENDS",
                "DjangoEmailBackend mails ADMINS, and ADMINS is empty",
                "Set ADMINS in your Django settings.",
            )

    def subject(self, notification: Notification) -> str:
        """``[autoscalebot] scaled (my-app)``: one subject per kind and app."""
        app = getattr(self.settings, "heroku_app_name", None)
        return f"{subject(notification)} ({app})" if app else subject(notification)

    def body(self, notification: Notification) -> str:
        """The message, then the evidence, the counts and the time."""
        lines = [notification.message, ""]
        if notification.reason:
            lines.append(f"Why: {notification.reason}")
        if notification.counts:
            lines.append("Counts: " + ", ".join(f"{k}={v}" for k, v in notification.counts.items()))
        app = getattr(self.settings, "heroku_app_name", None)
        if app:
            lines.append(f"App: {app}")
        lines.append(f"At: {notification.at.isoformat(timespec='seconds')}")
        return "\n".join(lines) + "\n"

    def send(self, notification: Notification) -> None:
        from django.core.mail import mail_admins

        mail_admins(self.subject(notification), self.body(notification), fail_silently=False)

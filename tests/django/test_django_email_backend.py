"""DjangoEmailBackend: ADMINS mailed through Django's mail system, one subject per kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import override_settings

from autoscalebot.backends.base import Measurement, Notification
from autoscalebot.backends.notification import SUBJECTS, DjangoEmailBackend
from autoscalebot.config import ConfigError, load_settings
from autoscalebot.engine import events as ev
from autoscalebot.engine.clock import FakeClock
from autoscalebot.engine.engine import Engine

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.outbox = []
    yield
    mail.outbox = []


@pytest.fixture
def settings():
    return load_settings(django_settings=django_settings, env={})


def note(kind: str, **counts: int) -> Notification:
    return Notification(
        kind, f"{kind} happened", "3 beats over 1000 ms: 1350, 1420, 1600", AT, counts
    )


def test_mails_admins_with_message_reason_counts_and_time(settings):
    DjangoEmailBackend(settings).send(
        Notification(
            "scale",
            "Scaled up from 2 to 3 dynos automatically",
            "3 beats over 1000 ms: 1350, 1420, 1600",
            AT,
            {"before": 2, "after": 3},
        )
    )
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert message.from_email == "autoscalebot@example.com"
    assert message.subject == "[Django] [autoscalebot] scaled (my-app-name)"
    assert message.body == (
        "Scaled up from 2 to 3 dynos automatically\n"
        "\n"
        "Why: 3 beats over 1000 ms: 1350, 1420, 1600\n"
        "Counts: before=2, after=3\n"
        "App: my-app-name\n"
        "At: 2026-11-28T10:00:00+00:00\n"
    )


def test_each_kind_has_its_own_subject(settings):
    backend = DjangoEmailBackend(settings)
    kinds = [*SUBJECTS, "probe_failing"]
    for kind in kinds:
        backend.send(note(kind))
    subjects = [m.subject for m in mail.outbox]
    assert len(set(subjects)) == len(kinds)
    assert "[Django] [autoscalebot] needs more than MAX_DYNOS (my-app-name)" in subjects
    assert "[Django] [autoscalebot] probe failing (my-app-name)" in subjects


@override_settings(EMAIL_SUBJECT_PREFIX="")
def test_subject_without_the_django_prefix_or_an_app_name():
    assert DjangoEmailBackend(None).subject(note("scale_failed")) == "[autoscalebot] scaling failed"


@override_settings(ADMINS=[])
def test_no_admins_is_a_configuration_error_at_start_up(settings):
    with pytest.raises(ConfigError) as caught:
        DjangoEmailBackend(settings)
    assert str(caught.value) == (
        "NOTIFICATION_BACKENDS: DjangoEmailBackend mails ADMINS, and ADMINS is empty. "
        "Set ADMINS in your Django settings."
    )


@override_settings(EMAIL_BACKEND="testsite.failing.FailingEmailBackend")
def test_a_failing_mail_server_raises_for_the_engine_to_report(settings):
    with pytest.raises(ConnectionRefusedError):
        DjangoEmailBackend(settings).send(note("scale"))


class FastApp:
    """A probe whose app always answers in 5 ms."""

    def measure(self) -> Measurement:
        return Measurement(5.0, status=200)

    def close(self) -> None:
        pass


class TwoDynos:
    """A platform at 2 dynos that accepts any count."""

    def __init__(self) -> None:
        self.count = 2

    def current(self) -> int:
        return self.count

    def scale_to(self, n: int) -> int:
        self.count = n
        return n

    def app_url(self) -> str:
        return "http://127.0.0.1:9/"

    def close(self) -> None:
        pass


def engine_from_django_settings(events: list) -> Engine:
    """The engine with the notification backends named in Django settings (by dotted path)."""
    s = load_settings(
        django_settings=django_settings,
        env={},
        overrides={"NOTIFY_ON_EVERY_SCALE": True, "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER": 2},
    )
    return Engine(
        s,
        sink=events.append,
        clock=FakeClock(),
        probe=FastApp(),
        scaler=TwoDynos(),
        notify_async=False,
    )


def test_the_engine_mails_a_scale_through_the_backend_named_in_django_settings():
    events: list = []
    engine = engine_from_django_settings(events)
    assert [type(b).__name__ for b in engine.notifier.backends] == ["DjangoEmailBackend"]
    engine.tick()
    engine.tick()
    [message] = mail.outbox
    assert message.subject == "[Django] [autoscalebot] scaled (my-app-name)"
    assert message.body.startswith("Scaled down from 2 to 1 dyno automatically\n")
    assert "Counts: before=2, after=1" in message.body


@override_settings(EMAIL_BACKEND="testsite.failing.FailingEmailBackend")
def test_a_failing_mail_server_is_reported_and_scaling_goes_on():
    events: list = []
    engine = engine_from_django_settings(events)
    engine.tick()
    engine.tick()
    assert engine.current == 1
    [trouble] = [e for e in events if isinstance(e, ev.Trouble)]
    assert trouble.source == "notify:DjangoEmailBackend"
    assert "ConnectionRefusedError" in trouble.reason

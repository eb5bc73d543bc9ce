"""The heartbeat view through Django's test client, healthy and with each part broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import OperationalError, connections
from django.test import Client, override_settings
from django.urls import reverse

from autoscalebot.config import SPEC_BY_NAME

URL = "/autoscalebot/heartbeat/"


@pytest.fixture
def client() -> Client:
    # enforce_csrf_checks: the bot's GETs need no token, and a POST gets 405, not 403.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def heartbeat_dir(tmp_path: Path):
    folder = tmp_path / "heartbeat"
    folder.mkdir()
    with override_settings(AUTOSCALE_HEARTBEAT_DIR=str(folder)):
        yield folder


def timings(response) -> dict[str, str]:
    """``Server-Timing`` as {part: its parameters}."""
    out = {}
    for item in response["Server-Timing"].split(","):
        name, _, params = item.strip().partition(";")
        out[name] = params
    return out


def assert_safe_body(response, part: str) -> None:
    """The whole body is the fixed text: no message, path, setting or traceback."""
    assert response.content.decode() == f"unhealthy: {part}\n"


def test_the_seed_include_serves_the_default_heartbeat_url():
    assert reverse("autoscalebot:heartbeat") == URL == SPEC_BY_NAME["HEARTBEAT_URL"].default


def test_healthy_answers_200_ok_with_timings_and_no_store(client, heartbeat_dir):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    parts = timings(response)
    assert list(parts) == ["db", "cache", "disk"]
    for params in parts.values():
        assert re.fullmatch(r"dur=\d+\.\d{3}", params), params
    assert list(heartbeat_dir.iterdir()) == []  # the temporary file is gone


def test_head_answers_like_get_without_a_body(client, heartbeat_dir):
    response = client.head(URL)
    assert response.status_code == 200
    assert response.content == b""
    assert "no-store" in response["Cache-Control"]
    assert "db;dur=" in response["Server-Timing"]


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_other_methods_get_405_not_a_csrf_failure(client, method):
    response = getattr(client, method)(URL)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_works_without_login_or_session(heartbeat_dir):
    response = Client().get(URL)  # no cookies, no user
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_database_down_gives_503_naming_only_the_database(
    client, heartbeat_dir, monkeypatch, caplog
):
    def refuse(*args, **kwargs):
        raise OperationalError(
            'could not connect to server "secret-db-host" at /var/run/postgresql'
        )

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get(URL)
    assert response.status_code == 503
    assert_safe_body(response, "db")
    assert "no-store" in response["Cache-Control"]
    assert timings(response)["db"].startswith('desc="failed";dur=')
    assert timings(response)["cache"].startswith("dur=")  # the other parts were still checked
    # The cause is logged on the server, with the traceback.
    record = next(r for r in caplog.records if r.name == "autoscalebot.views")
    assert "db check failed" in record.getMessage()
    assert record.exc_info and "secret-db-host" in str(record.exc_info[1])


@override_settings(CACHES={"default": {"BACKEND": "testsite.failing.BrokenCache"}})
def test_cache_down_gives_503_naming_only_the_cache(client, heartbeat_dir, caplog):
    response = client.get(URL)
    assert response.status_code == 503
    assert_safe_body(response, "cache")
    assert any("10.9.8.7" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@override_settings(CACHES={"default": {"BACKEND": "testsite.failing.ForgetfulCache"}})
def test_a_cache_that_silently_loses_writes_is_unhealthy(client, heartbeat_dir):
    response = client.get(URL)
    assert response.status_code == 503
    assert_safe_body(response, "cache")


@pytest.mark.parametrize("where", ["missing-folder", "a-file"])
def test_disk_unwritable_gives_503_without_the_path(client, tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder")
    target = tmp_path / where
    with override_settings(AUTOSCALE_HEARTBEAT_DIR=str(target)):
        response = client.get(URL)
    assert response.status_code == 503
    assert_safe_body(response, "disk")
    assert str(tmp_path).encode() not in response.content


def test_several_parts_down_are_all_named(client, tmp_path, monkeypatch):
    monkeypatch.setattr(
        connections["default"], "cursor", lambda: (_ for _ in ()).throw(OperationalError("x"))
    )
    with override_settings(AUTOSCALE_HEARTBEAT_DIR=str(tmp_path / "nope")):
        response = client.get(URL)
    assert response.status_code == 503
    assert response.content == b"unhealthy: db, disk\n"


@override_settings(
    AUTOSCALE_HEARTBEAT_DATABASE=None,
    AUTOSCALE_HEARTBEAT_DIR=None,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
)
def test_parts_can_be_skipped(client, monkeypatch):
    monkeypatch.setattr(connections["default"], "cursor", lambda: 1 / 0)  # must not be called
    response = client.get(URL)
    assert response.status_code == 200
    assert timings(response) == {
        "db": 'desc="skipped"',
        "cache": 'desc="skipped"',
        "disk": 'desc="skipped"',
    }


def test_the_default_disk_folder_is_the_system_temp_folder(client, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    response = client.get(URL)
    assert response.status_code == 200
    assert timings(response)["disk"].startswith("dur=")
    assert list(tmp_path.iterdir()) == []


def test_a_broken_heartbeat_recovers_when_the_part_does(client, heartbeat_dir, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(
            connections["default"], "cursor", lambda: (_ for _ in ()).throw(OperationalError("x"))
        )
        assert client.get(URL).status_code == 503
    assert client.get(URL).status_code == 200


def test_login_required_middleware_does_not_lock_the_bot_out(heartbeat_dir):
    import django
    from django.conf import settings

    if django.VERSION < (5, 1):
        pytest.skip("LoginRequiredMiddleware is new in Django 5.1")
    middleware = [*settings.MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        assert Client().get(URL).status_code == 200
    from autoscalebot.views import heartbeat

    heartbeat.login_required = True  # what an undecorated view looks like to the middleware
    try:
        with override_settings(MIDDLEWARE=middleware):
            assert Client().get(URL).status_code == 302  # so the test above means something
    finally:
        heartbeat.login_required = False


def test_atomic_requests_do_not_wrap_the_heartbeat(monkeypatch):
    from django.core.handlers.base import BaseHandler

    from autoscalebot.views import heartbeat

    monkeypatch.setitem(connections["default"].settings_dict, "ATOMIC_REQUESTS", True)
    assert BaseHandler().make_view_atomic(heartbeat) is heartbeat


def test_a_project_without_a_database_skips_the_database(client, heartbeat_dir, monkeypatch):
    # With DATABASES = {}, Django fills in the dummy backend, whose cursor raises.
    monkeypatch.setitem(connections["default"].settings_dict, "ENGINE", "django.db.backends.dummy")

    def refuse(*args, **kwargs):
        raise AssertionError("the dummy database must not be queried")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get(URL)
    assert response.status_code == 200
    assert 'db;desc="skipped"' in response["Server-Timing"]

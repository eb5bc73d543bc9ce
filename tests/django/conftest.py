"""Configures Django for these tests with the test site in ``project/``.

No pytest-django: ``DJANGO_SETTINGS_MODULE`` and ``django.setup()`` are all the
view, settings and mail tests need, and ``setup_test_environment()`` gives the
locmem mail outbox. Without Django installed these tests are not collected.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"

# A bare ``tests/django`` folder on sys.path could pass for a namespace package
# named django, so look for Django's own ``__init__``.
_spec = importlib.util.find_spec("django")
if _spec is None or _spec.origin is None:
    collect_ignore_glob = ["test_*.py"]
else:
    # The test site's package, and testsite_runner beside this file (pytest's
    # importlib mode puts neither on sys.path).
    for folder in (PROJECT, HERE):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
    import django
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()


@pytest.fixture(autouse=True)
def _clean_autoscale_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No AUTOSCALE_/HEROKU_ variables or per-user TOML file from the machine leak in."""
    for name in list(os.environ):
        if name.startswith(("AUTOSCALE_", "HEROKU_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    yield

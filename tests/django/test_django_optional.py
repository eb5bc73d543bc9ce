"""Django stays optional: ``import autoscalebot`` and the headless bot work without it,
and the Django glue loads only when Django loads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HIDE_DJANGO = """
import sys
class HideDjango:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'django':
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, HideDjango())
"""


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_autoscalebot_imports_without_django_and_loads_no_glue():
    out = python(
        HIDE_DJANGO
        + """
import autoscalebot, autoscalebot.cli, autoscalebot.runtime, autoscalebot.backends.notification
glue = {'autoscalebot.apps', 'autoscalebot.urls', 'autoscalebot.views', 'autoscalebot.management'}
print(sorted(glue & set(sys.modules)), [m for m in sys.modules if m.startswith('django')])
"""
    )
    assert out.stdout.strip() == "[] []", out.stderr


def test_the_email_backend_without_django_is_a_configuration_error():
    out = python(
        HIDE_DJANGO
        + """
from autoscalebot.backends.notification import DjangoEmailBackend
from autoscalebot.config import ConfigError
try:
    DjangoEmailBackend(None)
except ConfigError as exc:
    print(exc)
"""
    )
    assert out.stdout.strip() == (
        "NOTIFICATION_BACKENDS: DjangoEmailBackend needs Django, which is not installed. "
        "Install autoscalebot[django], or choose another backend."
    ), out.stderr


def test_the_plain_cli_naming_the_email_backend_stops_with_a_clear_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    env["HEROKU_API_KEY"] = "k"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoscalebot.cli",
            "--set",
            "HEROKU_APP_NAME=x",
            "--set",
            "NOTIFICATION_BACKENDS=django-email",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "autoscalebot: error: NOTIFICATION_BACKENDS: DjangoEmailBackend needs Django settings. "
        "Run the bot with 'manage.py run_autoscalebot', or choose another backend.\n"
    )

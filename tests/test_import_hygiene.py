"""The engine and the headless face work without Textual, Rich or Django.

httpx loads Rich on its own when Rich is installed (for its optional command
line), so "not in sys.modules" would test httpx, not us. Instead each module
is imported, and an engine beat run, in a subprocess where importing Textual,
Rich or Django fails, as it would on a machine without them.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEADLESS_MODULES = [
    "autoscalebot",
    "autoscalebot.engine.engine",
    "autoscalebot.config",
    "autoscalebot.backends.probe",
    "autoscalebot.backends.policy",
    "autoscalebot.backends.heroku",
    "autoscalebot.backends.notification",
    "autoscalebot.logfmt",
    "autoscalebot.cli",
    "autoscalebot.demo",
]

BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'textual', 'rich', 'django'}:
            raise ImportError(name + ' is hidden for this test')
sys.meta_path.insert(0, Block())
"""


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code], capture_output=True, text=True, cwd=ROOT
    )


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_headless_module_imports_without_textual_rich_or_django(module):
    out = run(f"import {module}\nprint('ok')")
    assert out.stdout.strip() == "ok", out.stderr


def test_an_engine_beat_runs_without_textual_rich_or_django():
    code = """
sys.path.insert(0, 'tests')
from conftest import Harness
h = Harness(count=1)
h.beats(1500, 1500, 1500)
print(h.scaler.requests)
"""
    out = run(code)
    assert out.stdout.strip() == "[2]", out.stderr


def test_engine_source_has_no_textual_or_rich_import():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "autoscalebot" / "engine").rglob("*.py")
        if any(
            line.lstrip().startswith(("import textual", "from textual", "import rich", "from rich"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []

"""The README's settings table is the code's settings table."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_settings_table_matches_the_code():
    table = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_table.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert table in (ROOT / "README.md").read_text(), (
        "run scripts/settings_table.py and paste it into README.md"
    )


def test_readme_first_screen_has_the_two_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:30])
    assert "pip install . && autoscalebot --demo" in first_screen
    assert "pip install -e '.[test]' && pytest" in first_screen

"""Print the README's settings table from the one settings table in code.

    python scripts/settings_table.py > /tmp/table.md

tests/test_readme.py checks that README.md holds exactly this table.
"""

from __future__ import annotations

from autoscalebot.config.settings import SPEC
from autoscalebot.engine.schedule import Schedule


def default_text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, Schedule):
        return f"`{value}`"
    if isinstance(value, tuple):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, bool):
        return f"`{value}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, str) and value.startswith("autoscalebot."):
        return f"`{value.rsplit('.', 1)[1]}`"
    return f"`{value}`"


def table() -> str:
    rows = ["| Setting | Default | What it does |", "|---|---|---|"]
    for s in SPEC:
        text = s.help.replace("|", "\\|")
        rows.append(f"| `{s.name}` | {default_text(s.default)} | {text} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())

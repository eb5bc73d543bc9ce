"""The console's one rule for text from outside (error messages, reasons,
server bodies, names from settings): shown literally, on the line it is on.

Rich and Textual read ``[bold]`` or ``[/api/v3]`` in a plain string as markup
(and raise on a closing tag that opens nothing); control characters and
Unicode line separators would move the cursor or break a one-line panel.
Every widget, toast and dialog that shows such text goes through here: the
controls become escapes (``\\x1b``, ``\\u2028``, the log's own rule) and the
result is a :class:`~rich.text.Text`, which is never parsed for markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.text import Text

from autoscalebot.logfmt import escape_controls


def literal(text: object) -> str:
    """``text`` as a string with its controls and line breaks escaped
    (for APIs that take a string: pass it with ``markup=False``)."""
    return escape_controls(str(text))


def literal_text(text: object, style: str | Style = "") -> Text:
    """``text`` as a Rich Text: no markup, controls escaped."""
    return Text(literal(text), style=style)


def fit(text: Text, width: int, rows: int, console: Console) -> Text:
    """``text`` wrapped to ``width`` in at most ``rows`` lines; when it needs
    more, the last line shown ends in an ellipsis."""
    if width <= 0 or rows <= 0:
        return Text()
    lines = text.wrap(console, width)
    if len(lines) <= rows:
        return Text("\n").join(lines)
    shown = list(lines[:rows])
    last = shown[-1].copy()
    last.append(" ")
    last.truncate(width - 1)
    last.rstrip()
    last.append("…")
    shown[-1] = last
    return Text("\n").join(shown)

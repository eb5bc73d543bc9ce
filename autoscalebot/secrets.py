"""One place that keeps the bot's secrets out of every text it shows.

A server, a command or a library may echo a secret back: Heroku quoting the
``Authorization`` header in an error, a webhook's proxy quoting the URL it
refused, a command printing its token on stderr. Whatever the bot shows
(logfmt lines, the console, notifications, exceptions in the log) passes
through a :class:`Scrubber` built from every secret the settings hold, which
replaces each spelling of a secret with :data:`MASK`.

The engine scrubs every event at its one emit point and every notification
before the backends get it; :func:`install_log_scrubber` does the same for
the ``logging`` records the CLI prints. No Textual or Rich here.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

MASK = "[secret]"
"""What a secret becomes in any text the bot shows."""

# Shorter values are no secrets worth the name, and masking them would
# mangle ordinary text (a key "abc" would eat every "abc").
MIN_SECRET_LENGTH = 6
# A token file larger than this is not a token; it is not read whole.
_MAX_TOKEN_FILE = 64 * 1024

T = TypeVar("T")


def spellings(secret: str) -> set[str]:
    """Every way ``secret`` may come back in a server's or a command's text.

    The value itself, its percent-encodings (a URL echoed inside a URL or a
    query), its JSON-escaped form (``\\/`` for ``/``), the ``Basic`` header
    encodings Heroku also accepts, and for a URL (a webhook) its path and
    query alone, which is where such URLs keep their secret.
    """
    secret = secret.strip()
    if len(secret) < MIN_SECRET_LENGTH:
        return set()
    out = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        secret.replace("/", "\\/"),
    }
    for basic in (f":{secret}", f"{secret}:"):
        out.add(base64.b64encode(basic.encode()).decode().rstrip("="))
    parts = urlsplit(secret)
    if parts.scheme in {"http", "https"} and parts.netloc:
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        if len(tail.strip("/")) >= MIN_SECRET_LENGTH:
            out |= {tail, quote(tail, safe=""), tail.replace("/", "\\/")}
        if parts.password:
            out |= spellings(parts.password)
    return {s for s in out if len(s) >= MIN_SECRET_LENGTH}


class Scrubber:
    """Replaces every known secret (in all its spellings) with :data:`MASK`.

    Callable on a string; :meth:`scrub` also walks dataclasses (events,
    notifications), tuples, lists and dicts. Secret files (the Kubernetes
    service-account token, which kubelet rotates) are re-read by
    :meth:`refresh` when they change.
    """

    def __init__(self, secrets: Iterable[str] = (), files: Iterable[Path] = ()) -> None:
        self._fixed = {s for s in secrets if s}
        self._files = list(files)
        self._file_secrets: dict[Path, tuple[tuple[float, int], str]] = {}
        self._pattern: re.Pattern[str] | None = None
        self._compiled = False
        self.refresh()

    def add(self, secret: str) -> None:
        """Mask ``secret`` from now on too."""
        if secret and secret not in self._fixed:
            self._fixed.add(secret)
            self._compile()

    def refresh(self) -> None:
        """Re-read secret files that changed (cheap: one stat per file)."""
        changed = False
        for path in self._files:
            try:
                stat = path.stat()
                stamp = (stat.st_mtime, stat.st_size)
                if path in self._file_secrets and self._file_secrets[path][0] == stamp:
                    continue
                if stat.st_size > _MAX_TOKEN_FILE:
                    continue
                text = path.read_text(errors="replace").strip()
            except OSError:
                continue
            old = self._file_secrets.get(path)
            # Keep the previous token masked too: it may still be echoed for a while.
            if old is not None and old[1] != text:
                self._fixed.add(old[1])
            self._file_secrets[path] = (stamp, text)
            changed = True
        if changed or not self._compiled:
            self._compile()

    def _compile(self) -> None:
        self._compiled = True  # nothing to mask is an answer too: not rebuilt every beat
        every: set[str] = set()
        for secret in self._fixed | {text for _, text in self._file_secrets.values()}:
            every |= spellings(secret)
        # Longest first, so a URL is masked whole rather than around its path.
        alternatives = sorted(every, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)
            if alternatives
            else None
        )

    @property
    def active(self) -> bool:
        """True when there is anything to mask."""
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        """``text`` with every secret masked."""
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def scrub(self, value: T) -> T:
        """``value`` with every string in it masked (a new object only where one changed)."""
        if self._pattern is None:
            return value
        return self._walk(value)  # type: ignore[no-any-return]

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for f in dataclasses.fields(value):
                if not f.init:
                    continue
                old = getattr(value, f.name)
                new = self._walk(old)
                if new is not old:
                    changes[f.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        if isinstance(value, tuple | list):
            items = [self._walk(item) for item in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return type(value)(items) if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            pairs = [(self._walk(k), self._walk(v)) for k, v in value.items()]
            if all(
                k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)
            ):
                return value
            return dict(pairs)
        return value


def secret_values(settings: Any) -> list[str]:
    """Every secret the settings hold: settings marked secret, and URL passwords."""
    from autoscalebot.config.settings import SPEC

    found: list[str] = []
    for spec in SPEC:
        value = getattr(settings, spec.attr, None)
        if not isinstance(value, str) or not value:
            continue
        if spec.secret:
            found.append(value)
        elif "://" in value:
            # A broker or API URL may carry a password ("redis://:pw@host").
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.append(password)
    # A bot of many formations: a formation may hold its own key (a settings module's FORMATIONS).
    for entry in getattr(settings, "formations", ()) or ():
        found.extend(secret_values(_Entry(entry)))
    return found


class _Entry:
    """One FORMATIONS entry read like settings (names in any case)."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.__dict__.update({str(k).lower(): v for k, v in entry.items()})


def scrubber_for(settings: Any) -> Scrubber:
    """A :class:`Scrubber` for every secret ``settings`` hold (and the token file's)."""
    files = []
    token_file = getattr(settings, "kubernetes_token_file", None)
    if token_file:
        files.append(Path(token_file))
    return Scrubber(secret_values(settings), files)


class ScrubFilter(logging.Filter):
    """A ``logging`` filter that masks secrets in a record's message and traceback.

    Put it on handlers (a logger's own filters miss records that propagate up
    from its children). The formatted traceback is folded into the message so
    every formatter prints the masked text.
    """

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.scrubber.active:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show what there is
            message = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[0] is not None:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            message += "\n" + record.exc_text
        if record.stack_info:
            message += "\n" + record.stack_info
        record.msg = self.scrubber(message)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def install_log_scrubber(settings: Any, logger: logging.Logger | None = None) -> ScrubFilter:
    """Mask the settings' secrets in everything the root logger's handlers print.

    Call once, right after ``logging.basicConfig``. Returns the filter
    (already installed on each handler of ``logger``, default the root).
    """
    target = logger or logging.getLogger()
    scrub_filter = ScrubFilter(scrubber_for(settings))
    for handler in target.handlers:
        handler.addFilter(scrub_filter)
    return scrub_filter

"""Saving edited settings to the user's TOML file: edited in place, atomically.

The file is the user's: a save changes the values it was asked to change and
nothing else. Comments, layout, key order and the other keys stay as written
(tomlkit round-trips the document); a symlinked file is written through to its
target; an existing file keeps its mode (a new one is private, 0600). The new
text goes to a temporary file beside the target, then ``os.replace``, so an
interrupted save leaves the old file whole, and a save after a crash sweeps up
the temporary file the crashed one left. Secrets are refused, never written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table
from tomlkit.toml_document import TOMLDocument

from autoscalebot.config.settings import SPEC_BY_NAME, ConfigError, Setting
from autoscalebot.engine.schedule import Schedule

try:  # POSIX: a live save holds a lock on its temporary file (see _sweep_leftovers)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

NEW_FILE_MODE = 0o600


def save_settings(path: Path, changes: Mapping[str, Any]) -> None:
    """Write ``changes`` (seed names -> values; ``None`` = back to the default)
    into the TOML file at ``path``, keeping everything else in it."""
    checked = [(_spec(key), value) for key, value in changes.items()]
    target = Path(os.path.realpath(path))  # through a symlink (or a chain) to the real file
    mode = NEW_FILE_MODE
    text = ""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        text = target.read_bytes().decode("utf-8")
    except FileNotFoundError:
        pass
    except UnicodeDecodeError:
        raise ConfigError(
            "--config", f"{path} is not UTF-8 text, so it was left untouched"
        ) from None
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(
            "--config", f"{path} is not valid TOML, so it was left untouched: {exc}"
        ) from None
    for spec, value in checked:
        _set(doc, spec, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(target)
    _write_atomically(target, tomlkit.dumps(doc).encode("utf-8"), mode)


def _spec(key: str) -> Setting:
    name = key.upper()
    spec = SPEC_BY_NAME.get(name)
    if spec is None:
        raise ConfigError(name, "is not a setting")
    if spec.secret:
        raise ConfigError(name, "is a secret and is never written to TOML")
    return spec


def _set(doc: TOMLDocument, spec: Setting, value: Any) -> None:
    """Set one setting where the user wrote it (any spelling), else at the end."""
    spellings = [k for k in doc if k.upper() == spec.name]
    key = spellings[0] if spellings else spec.attr
    for other in spellings[1:]:  # the loader takes the last spelling; keep one
        del doc[other]
    if isinstance(value, Schedule):
        value = value.to_raw()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, float) and value.is_integer():
        value = int(
            value
        )  # 400, as the user wrote it, not 400.0 (read back as a number all the same)
    if value is None:  # absent means the default
        if key in doc:
            del doc[key]
        return
    if isinstance(value, Mapping):
        # A schedule the user wrote as a [section] stays one; new ones are inline.
        was_section = key in doc and isinstance(doc.item(key), Table)
        table = tomlkit.table() if was_section else tomlkit.inline_table()
        table.update(dict(value))
        value = table
    doc[key] = value


def _write_atomically(target: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # "this save is alive"
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(tmp, target)  # while still locked: a sweep never takes a live file
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a power cut
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _sweep_leftovers(target: Path) -> None:
    """Remove temporary files that a crashed save of ``target`` left behind.

    A save in progress holds an exclusive lock on its temporary file, so one
    that can be locked belongs to a process that died before its rename.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return
    for leftover in _leftovers(target):
        with contextlib.suppress(OSError):
            fd = os.open(leftover, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(leftover)
            finally:
                os.close(fd)


def _leftovers(target: Path) -> Iterator[Path]:
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if (
                entry.name.startswith(prefix)
                and entry.name.endswith(".tmp")
                and entry.is_file(follow_symlinks=False)
            ):
                yield Path(entry.path)

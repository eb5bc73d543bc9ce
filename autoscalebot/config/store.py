"""Saving edited settings to the TOML file: whole, atomically, never a secret."""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from autoscalebot.config.settings import SPEC_BY_NAME, ConfigError
from autoscalebot.engine.schedule import Schedule


def save_settings(path: Path, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` (seed names) into the TOML file at ``path``.

    The file is written to a temporary file beside it, fsynced, then
    ``os.replace``d, so an interrupted save leaves the old file whole. The new
    file is private (0600). Secrets are refused, not silently dropped.
    """
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                "--config", f"{path} is not valid TOML, so it was left untouched: {exc}"
            ) from None
    for key, value in changes.items():
        name = key.upper()
        spec = SPEC_BY_NAME.get(name)
        if spec is None:
            raise ConfigError(name, "is not a setting")
        if spec.secret:
            raise ConfigError(name, "is a secret and is never written to TOML")
        # Drop any other spelling of the same key, then write the seed name lower-cased.
        for existing in [k for k in current if k.upper() == name]:
            del current[existing]
        if isinstance(value, Schedule):
            value = value.to_raw()
        if isinstance(value, tuple):
            value = list(value)
        if value is not None:  # tomli-w cannot write None: absent means default
            current[spec.attr] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            tomli_w.dump(current, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

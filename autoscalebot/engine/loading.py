"""Backends chosen by dotted path, as the seed's NOTIFICATION_BACKENDS are."""

from __future__ import annotations

import importlib
from typing import Any

from autoscalebot.config.settings import ConfigError


def import_string(setting: str, dotted_path: str) -> Any:
    """Import ``package.module.Name``; a failure is a ConfigError naming ``setting``."""
    module_path, _, name = dotted_path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ConfigError(
            setting,
            f"cannot import {dotted_path!r} ({exc})",
            "Check the dotted path, and that its package is installed.",
        ) from None
    except SyntaxError as exc:
        raise ConfigError(
            setting, f"{module_path} has a syntax error at line {exc.lineno}"
        ) from None
    except Exception as exc:  # a backend module is user code: report, don't trace
        raise ConfigError(
            setting, f"{module_path} raised {type(exc).__name__} on import: {exc}"
        ) from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise ConfigError(
            setting, f"module {module_path!r} has no {name!r}", "Check the dotted path."
        ) from None


def build_backend(setting: str, dotted_path: str, settings: Any, **deps: Any) -> Any:
    """Import and construct a backend as ``Backend(settings, **deps)``."""
    factory = import_string(setting, dotted_path)
    if not callable(factory):
        raise ConfigError(setting, f"{dotted_path} is not a class")
    try:
        return factory(settings, **deps)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            setting,
            f"{dotted_path} could not be built: {type(exc).__name__}: {exc}",
            "A backend is a class built as Backend(settings, **kwargs).",
        ) from None

"""Where settings come from, lowest to highest precedence.

defaults < settings module (``--settings``, seed names) or Django settings
(``AUTOSCALE_`` prefix) < TOML file (``--config``, else the user config file)
< environment (``AUTOSCALE_<NAME>``, plus ``HEROKU_API_KEY``/``HEROKU_APP_NAME``)
< command-line overrides.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from autoscalebot.config.settings import (
    SPEC,
    SPEC_BY_NAME,
    ConfigError,
    Settings,
    _did_you_mean,
    build_settings,
)

ENV_PREFIX = "AUTOSCALE_"
# How close an unknown upper-case name must be to a setting to count as its typo.
# 0.85 keeps the heartbeat view's HEARTBEAT_DIR (0.846 from HEARTBEAT_URL) and
# third-party names such as SLACK_WEBHOOK_URL apart from the settings.
NEAR_MISS_CUTOFF = 0.85
# Plain names the seed's users already export on Heroku.
PLAIN_ENV = ("HEROKU_API_KEY", "HEROKU_APP_NAME", "HEROKU_API_URL")
TOML_NAME = "autoscalebot.toml"


def default_config_path() -> Path:
    """The per-user TOML file (e.g. ``~/.config/autoscalebot/autoscalebot.toml``)."""
    return platformdirs.user_config_path("autoscalebot") / TOML_NAME


def from_module(module_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Seed-named settings from a Python module, found on the current directory.

    Returns (known settings, other upper-case names for third-party backends).
    An upper-case name that is a near miss of a setting (``MAX_DYNO``) is a
    typo, refused; other names (imports, helpers, third-party settings) pass.
    """
    if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
        dotted = module_name.removesuffix(".py").replace(os.sep, ".").replace("/", ".").strip(".")
        raise ConfigError(
            "--settings",
            f"{module_name!r} is a file name; it takes a module name",
            f"Write --settings={dotted} (without .py, run from the folder that holds it).",
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(
                "--settings",
                f"no module named {module_name!r} on the current directory or PYTHONPATH",
                "Run from the folder that holds it, or give its dotted name.",
            ) from None
        raise ConfigError("--settings", f"{module_name} failed to import: {exc}") from None
    except SyntaxError as exc:
        raise ConfigError(
            "--settings", f"{module_name} has a syntax error at line {exc.lineno}"
        ) from None
    except Exception as exc:  # a settings module is user code: report, don't trace
        raise ConfigError(
            "--settings", f"{module_name} raised {type(exc).__name__} on import"
        ) from None
    names = {n: getattr(module, n) for n in dir(module) if n.isupper()}
    for name in names:
        _refuse_near_miss(name, shown=name, where=f"in {module_name}")
    return _split_known(names)


def _refuse_near_miss(name: str, *, shown: str, where: str, prefix: str = "") -> None:
    """A name one typo away from a setting stops the bot with the setting it meant."""
    if name in SPEC_BY_NAME:
        return
    close = difflib.get_close_matches(name, SPEC_BY_NAME, n=1, cutoff=NEAR_MISS_CUTOFF)
    if close:
        raise ConfigError(shown, f"{where} is not a setting", f"Did you mean {prefix}{close[0]}?")


def from_django(django_settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``AUTOSCALE_``-prefixed names from Django settings (TIME_ZONE is shared)."""
    names = {
        n[len(ENV_PREFIX) :]: getattr(django_settings, n)
        for n in dir(django_settings)
        if n.startswith(ENV_PREFIX)
    }
    if "TIME_ZONE" not in names and getattr(django_settings, "TIME_ZONE", None):
        names["TIME_ZONE"] = django_settings.TIME_ZONE
    for name in names:
        # Unknown names stay for third-party backends (and the heartbeat view's
        # HEARTBEAT_DATABASE/_CACHE/_DIR), but a near-miss of a setting is a typo.
        _refuse_near_miss(
            name, shown=ENV_PREFIX + name, where="in Django's settings", prefix=ENV_PREFIX
        )
    return _split_known(names)


def _split_known(names: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    known = {k: v for k, v in names.items() if k in SPEC_BY_NAME}
    extra = {k: v for k, v in names.items() if k not in SPEC_BY_NAME}
    return known, extra


def from_toml(path: Path) -> dict[str, Any]:
    """Settings from a TOML file; keys are seed names in any case."""
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "--config", f"{path} does not exist", "Check the path, or leave --config out."
        ) from None
    except PermissionError:
        raise ConfigError("--config", f"{path} cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise ConfigError("--config", f"{path} is a folder, not a TOML file") from None
    except UnicodeDecodeError:
        raise ConfigError("--config", f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError("--config", f"{path} cannot be read: {exc.strerror}") from None
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.upper()
        if name not in SPEC_BY_NAME:
            raise ConfigError(name, f"in {path} is not a setting", _did_you_mean(name))
        if SPEC_BY_NAME[name].secret:
            raise ConfigError(
                name,
                f"found in {path}; secrets are never read from TOML files",
                f"Remove it there and export {name} in the environment instead.",
            )
        out[name] = value
    return out


def from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """``AUTOSCALE_<NAME>`` variables, and the plain Heroku names."""
    out: dict[str, Any] = {}
    for name in PLAIN_ENV:
        if env.get(name):
            out[name] = env[name]
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :]
        if name not in SPEC_BY_NAME:
            # The prefix is ours: an unknown AUTOSCALE_ variable is always a mistake.
            close = difflib.get_close_matches(name, SPEC_BY_NAME, n=1)
            fix = (
                f"Did you mean {ENV_PREFIX}{close[0]}?"
                if close
                else "Unset it; the settings table in the README lists every name."
            )
            raise ConfigError(key, "in the environment is not a setting", fix)
        out[name] = value
    return out


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings from ``--set`` (values parsed like the environment's)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().upper()
        if not sep:
            raise ConfigError("--set", f"{pair!r} is not NAME=VALUE")
        if name not in SPEC_BY_NAME:
            raise ConfigError(name, "is not a setting", _did_you_mean(name))
        if SPEC_BY_NAME[name].secret:
            raise ConfigError(
                name,
                "is not taken on the command line (it would show in ps)",
                f"Export {name} instead.",
            )
        out[name] = value
    return out


def load_settings(
    *,
    settings_module: str | None = None,
    django_settings: Any = None,
    base: Mapping[str, Any] | None = None,
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    allow_missing_config: bool = False,
    require_platform: bool = True,
) -> Settings:
    """Merge every source and validate once. Raises :class:`ConfigError`.

    ``base`` is a layer just above the defaults (the demo's world).
    """
    env = os.environ if env is None else env
    layers: list[tuple[str, Mapping[str, Any]]] = []
    extra: dict[str, Any] = {}
    if base:
        layers.append(("demo", base))
    if settings_module:
        known, extra = from_module(settings_module)
        layers.append(("module", known))
    if django_settings is not None:
        known, more = from_django(django_settings)
        extra |= more
        layers.append(("django", known))
    path = config_path or default_config_path()
    use_default_file = config_path is None and base is None  # the demo ignores the user's file
    if (use_default_file and path.exists()) or (
        config_path is not None and (path.exists() or not allow_missing_config)
    ):
        layers.append(("toml", from_toml(path)))
    layers.append(("env", from_env(env)))
    layers.append(("flag", dict(overrides or {})))

    raw: dict[str, Any] = {}
    origins = {s.name: "default" for s in SPEC}
    for origin, layer in layers:
        for name, value in layer.items():
            raw[name] = value
            origins[name] = origin
    return build_settings(
        raw,
        extra=extra,
        origins=origins,
        require_platform=require_platform,
        django=django_settings is not None,
    )

"""Formations: what one bot scales. One by default; many with ``FORMATIONS``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoscalebot.config.settings import SPEC, SPEC_BY_NAME, ConfigError, Settings, build_settings
from autoscalebot.engine.schedule import Schedule


def formation_id(settings: Settings) -> str:
    """A stable name for what ``settings`` scale, e.g. ``myapp/web``.

    Heroku: app/process type; Kubernetes: namespace/deployment; gunicorn: the
    pidfile's name; a command or process group: ``command/<process type>``.
    Log lines, metrics and the control channel carry it.
    """
    backend = settings.scaling_backend.rsplit(".", 1)[-1].lower()
    if "kubernetes" in backend:
        return (
            f"{settings.kubernetes_namespace or 'default'}/{settings.kubernetes_deployment or '?'}"
        )
    if "gunicorn" in backend:
        return f"gunicorn/{Path(settings.gunicorn_pidfile or '?').stem}"
    if "command" in backend or "process" in backend:
        return f"command/{settings.process_type}"
    return f"{settings.heroku_app_name or '?'}/{settings.process_type}"


def formations_of(settings: Settings) -> dict[str, Settings]:
    """Every formation ``settings`` describe, by id, in order.

    Without ``FORMATIONS``: one, the settings themselves. With it: one per
    entry, each the top-level settings with the entry's values over them,
    validated whole; an error names the formation and the setting
    (``FORMATIONS[worker].MAX_DYNOS: ...``). Raises ConfigError.
    """
    if not settings.formations:
        return {formation_id(settings): settings}
    from_toml = settings.origins.get("FORMATIONS") == "toml"
    out: dict[str, Settings] = {}
    for n, entry in enumerate(settings.formations, start=1):
        changes = {str(k).upper(): v for k, v in entry.items()}
        name = changes.pop("NAME", None)
        label = str(name) if name else f"{n}"
        for key in changes:
            spec = SPEC_BY_NAME.get(key)
            if spec is None or key == "FORMATIONS":
                import difflib

                close = difflib.get_close_matches(key, [*SPEC_BY_NAME, "NAME"], n=1)
                raise ConfigError(
                    f"FORMATIONS[{label}].{key}",
                    "is not a setting of a formation",
                    f"Did you mean {close[0]}?"
                    if close
                    else "See the settings table in the README.",
                )
            if spec.secret and from_toml:
                raise ConfigError(
                    f"FORMATIONS[{label}].{key}",
                    "is a secret, and secrets are never read from TOML files",
                    f"Export it in the environment instead (AUTOSCALE_{key}, or {key}).",
                )
        one = _with(settings, changes, label)
        fid = str(name) if name else formation_id(one)
        if fid in out:
            raise ConfigError(
                f"FORMATIONS[{label}]",
                f"scales {fid}, as another formation does",
                "Give each formation its own app and process type (or a NAME).",
            )
        out[fid] = one
    return out


def _with(top: Settings, changes: dict[str, Any], label: str) -> Settings:
    """``top`` with one formation's values over it, validated as a whole bot's settings."""
    raw = {s.name: top.value(s.name) for s in SPEC}
    raw = {k: v.to_raw() if isinstance(v, Schedule) else v for k, v in raw.items()}
    raw.update(changes)
    raw["FORMATIONS"] = ()
    origins = dict(top.origins) | {k: "formation" for k in changes}
    try:
        return build_settings(raw, extra=top.extra, origins=origins)
    except ConfigError as exc:
        raise ConfigError(f"FORMATIONS[{label}].{exc.setting}", exc.problem, exc.fix) from None

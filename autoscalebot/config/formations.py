"""Formations: what one bot scales. One by default; many with ``FORMATIONS``."""

from __future__ import annotations

from pathlib import Path

from autoscalebot.config.settings import Settings


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
    """Every formation ``settings`` describe, by id, in order."""
    return {formation_id(settings): settings}

"""Settings: one frozen, validated object built from every source."""

from autoscalebot.config.settings import (
    SPEC,
    SPEC_BY_NAME,
    ConfigError,
    Setting,
    Settings,
    build_settings,
)
from autoscalebot.config.sources import default_config_path, load_settings, parse_overrides
from autoscalebot.config.store import save_settings

__all__ = [
    "SPEC",
    "SPEC_BY_NAME",
    "ConfigError",
    "Setting",
    "Settings",
    "build_settings",
    "default_config_path",
    "load_settings",
    "parse_overrides",
    "save_settings",
]

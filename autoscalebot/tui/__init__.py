"""``autoscalebot-tui``: the operator console over the engine."""

from autoscalebot.tui.app import AutoscaleApp

__all__ = ["AutoscaleApp"]

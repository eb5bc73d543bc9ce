"""The console's modal dialogs, one per module."""

from autoscalebot.tui.dialogs.help import HelpDialog
from autoscalebot.tui.dialogs.thresholds import EDITABLE, ThresholdsDialog, ThresholdsEdit

__all__ = ["EDITABLE", "HelpDialog", "ThresholdsDialog", "ThresholdsEdit"]

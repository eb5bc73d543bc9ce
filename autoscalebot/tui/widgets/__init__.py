"""The console's widgets, one per module."""

from autoscalebot.tui.widgets.bounds import BoundsPanel
from autoscalebot.tui.widgets.dynos import DynosPanel
from autoscalebot.tui.widgets.event_log import EventLog
from autoscalebot.tui.widgets.latency import LatencyChart
from autoscalebot.tui.widgets.status_line import StatusLine
from autoscalebot.tui.widgets.streak import StreakPanel

__all__ = ["BoundsPanel", "DynosPanel", "EventLog", "LatencyChart", "StatusLine", "StreakPanel"]

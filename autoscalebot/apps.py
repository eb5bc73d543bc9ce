"""Django app config: ``INSTALLED_APPS += ("autoscalebot",)`` loads this.

The app has no models and so no migrations; it brings the heartbeat view
(``autoscalebot.urls``) and the ``run_autoscalebot`` management command.
"""

from django.apps import AppConfig


class AutoscalebotConfig(AppConfig):
    """The ``autoscalebot`` Django app."""

    name = "autoscalebot"
    label = "autoscalebot"
    verbose_name = "autoscalebot"
    default_auto_field = "django.db.models.BigAutoField"

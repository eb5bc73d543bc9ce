"""The heartbeat URL, for ``include("autoscalebot.urls", namespace="autoscalebot")``.

Included at the site root (``path("", include(...))``) it serves
``/autoscalebot/heartbeat/``, the default ``HEARTBEAT_URL``; reverse it as
``reverse("autoscalebot:heartbeat")``.
"""

from django.urls import path

from autoscalebot import views

app_name = "autoscalebot"

urlpatterns = [
    path("autoscalebot/heartbeat/", views.heartbeat, name="heartbeat"),
]

"""URLs of the test site: the admin, as ``startproject`` writes it, plus the seed's step 3."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
]

urlpatterns += [
    path("", include("autoscalebot.urls", namespace="autoscalebot")),
]

"""The test site with one bad AUTOSCALE_ value, as a user might mistype it."""

from testsite.settings import *  # noqa: F403

AUTOSCALE_MAX_DYNOS = {"0:00": 2, "25:00": 5}

"""Pluggable backends for the four roles: measurement, decision, scaling, notification.

Each role is a small Protocol in :mod:`autoscalebot.backends.base`; built-ins
live beside it and are chosen by dotted path, as ``NOTIFICATION_BACKENDS``
always was.
"""

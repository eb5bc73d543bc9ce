"""Misbehaving notification backends, loaded by dotted path in the fault tests."""

import threading

from autoscalebot.backends.base import BaseBackend


class Raises(BaseBackend):
    def send(self, notification):
        raise ConnectionError("mail server refused")


class Hangs(BaseBackend):
    release = threading.Event()

    def send(self, notification):
        Hangs.release.wait(10)

"""Broken parts for the heartbeat tests: a cache that raises, one that forgets, mail that fails."""

from django.core.cache.backends.base import BaseCache
from django.core.mail.backends.base import BaseEmailBackend


class BrokenCache(BaseCache):
    """A cache whose server is down: every call raises."""

    def __init__(self, location, params):
        super().__init__(params)

    def _fail(self, *args, **kwargs):
        raise ConnectionError("cache server at 10.9.8.7:6379 refused the connection")

    add = get = set = touch = delete = has_key = clear = _fail


class ForgetfulCache(BaseCache):
    """A cache that swallows its errors (as memcached with ignore_exc): reads always miss."""

    def __init__(self, location, params):
        super().__init__(params)

    def add(self, key, value, timeout=None, version=None):
        return False

    def get(self, key, default=None, version=None):
        return default

    def set(self, key, value, timeout=None, version=None):
        pass

    def touch(self, key, timeout=None, version=None):
        return False

    def delete(self, key, version=None):
        return False

    def clear(self):
        pass


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server refused the connection")

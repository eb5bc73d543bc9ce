"""A real Redis server for the queue tests: one per session, emptied before each test."""

from __future__ import annotations

import pytest
import redis

from tests.queues.redis_server import running_redis


@pytest.fixture(scope="session")
def redis_server():
    with running_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server):
    """The server's URL (with its password), on an empty database."""
    url = redis_server.url()
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


@pytest.fixture
def r(redis_url):
    """A client on that database."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()

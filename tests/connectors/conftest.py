"""Fixtures of the key-store tests: a real Redis server (127.0.0.1:6379), one database per test.

Each test gets one of the databases 9-15 (in turn), flushed before and after. Without ``CI=true`` a
missing server skips the test with the command that starts it; with ``CI=true`` it fails.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
import redis

REDIS = os.environ.get("TROTH_TEST_REDIS", "redis://127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_DBS = itertools.cycle(range(9, 16))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of a flushed Redis database, flushed again after the test."""
    url = f"{REDIS}/{next(_DBS)}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        msg = f"redis server not reachable ({type(exc).__name__}); start it with: redis-server --daemonize yes"
        if IN_CI:
            pytest.fail(msg + " (CI=true: a missing server is a failure)")
        pytest.skip(msg)
    try:
        yield url
    finally:
        client.flushdb()
        client.close()

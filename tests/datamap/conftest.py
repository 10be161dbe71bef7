"""Fixtures of the data map tests: one fresh database on each engine."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A new, empty database on SQLite, PostgreSQL and MariaDB in turn."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[request.param]
    return str(request.getfixturevalue(fixture))

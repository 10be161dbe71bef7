"""Fixtures of the real-schema tests: the helpdesk schema on every engine, and its project."""

from __future__ import annotations

from pathlib import Path

import helpdesk
import pytest


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A new, empty database on SQLite, PostgreSQL and MariaDB in turn."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[request.param]
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def desk(db_url: str, troth_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The helpdesk project over its schema and rows on the engine."""
    helpdesk.create(db_url)
    monkeypatch.setenv("TROTH_CONN_HELPDESK_DB", db_url)
    return helpdesk.project(tmp_path)

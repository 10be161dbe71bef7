"""Fixtures of the worker tests: extra PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def pg_db() -> Iterator[Callable[[], str]]:
    """A factory of new, empty PostgreSQL databases (all dropped after the test)."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    made: list[str] = []

    def make() -> str:
        name = f"troth_t_{uuid.uuid4().hex[:12]}"
        try:
            with admin.connect() as c:
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as exc:
            if IN_CI:
                pytest.fail(f"postgres server not reachable ({exc.__class__.__name__})")
            pytest.skip("postgres server not reachable")
        made.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    try:
        yield make
    finally:
        with admin.connect() as c:
            for name in made:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

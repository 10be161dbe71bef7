"""Shared fixtures: real database servers, one fresh database per test.

PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB (127.0.0.1:3306, root, no password)
are real servers. Without ``CI=true`` a test that needs a missing server is skipped with the command
that starts it; with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.store.db import forget_engines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PG_ADMIN_URL = os.environ.get(
    "TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN_URL = os.environ.get("TROTH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

_START = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "mysql": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}


def _server_missing(kind: str, exc: Exception) -> None:
    msg = f"{kind} server not reachable ({type(exc).__name__}); start it with: {_START[kind]}"
    if IN_CI:
        pytest.fail(msg + " (CI=true: a missing server is a failure)")
    pytest.skip(msg)


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture
def pg_admin() -> Iterator[sa.Engine]:
    """An engine on the PostgreSQL server's admin database, in autocommit (CREATE/DROP)."""
    admin = _admin_engine(PG_ADMIN_URL)
    yield admin
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"troth_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        _server_missing("postgres", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """URL of a new, empty MariaDB/MySQL database, dropped after the test."""
    name = f"troth_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(MYSQL_ADMIN_URL)
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except sa.exc.OperationalError as exc:
        _server_missing("mysql", exc)
    url = MYSQL_ADMIN_URL.rstrip("/") + f"/{name}?charset=utf8mb4"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'troth.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest) -> str:
    """troth's own state DB on each supported engine (SQLite and PostgreSQL)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def troth_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated TROTH_HOME with a fixed secret key."""
    home = tmp_path / "troth-home"
    monkeypatch.setenv("TROTH_HOME", str(home))
    monkeypatch.setenv("TROTH_SECRET_KEY", "test-secret-key-0123456789abcdef")
    monkeypatch.delenv("TROTH_DATABASE_URL", raising=False)
    return home


@pytest.fixture(autouse=True)
def _own_troth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own TROTH_HOME: the ledger's key and anchor file live there, so no test
    writes them into the working directory or shares them with another test. The engines the
    test's calls shared (one per database) close after it."""
    monkeypatch.setenv("TROTH_HOME", str(tmp_path / "troth-home"))
    for name in ("TROTH_LEDGER_ANCHOR", "TROTH_LEDGER_SINK"):
        monkeypatch.delenv(name, raising=False)
    yield
    forget_engines()

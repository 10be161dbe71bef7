"""The retention fixture project (tests/fixtures/retention) on each engine, with known rows.

Now is 2026-06-01. Customers (last login -> fate under the 2-year inactivity rule):

1 inactive, no children                      -> deleted
2 inactive, order 1 with invoice 1 (2021)     -> invoice held (tax), order and customer anonymised
3 active, orders/sessions                    -> kept (session 2 older than 30 days: deleted)
4 inactive, order 2 with invoice 2 (2014)     -> invoice past its 10-year hold: all deleted
5 inactive, person hold on its e-mail         -> held, with its session 3
6 active, account closed 2026-01-01           -> password anonymised (NULL), row kept
7 inactive, row hold shop.customers#7         -> held
8 inactive, dispute (map table hold, no end)  -> dispute held, customer anonymised
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.connectors.sql import _with_driver
from troth.project import Project, load_project
from troth.store import open_store

FIXTURE = Path(__file__).parent.parent / "fixtures" / "retention"
NOW = datetime(2026, 6, 1)
KEY = b"test-secret-key-0123456789abcdef"
HELD_EMAIL = "eve@example.test"

ROWS: dict[str, list[tuple[object, ...]]] = {
    "customers": [
        (1, "ann@example.test", "Ann", "pw1", "2015-01-01", "2020-01-01", None),
        (2, "bob@example.test", "Bob", "pw2", "2015-01-01", "2021-01-01", None),
        (3, "cid@example.test", "Cid", "pw3", "2015-01-01", "2026-05-01", None),
        (4, "dan@example.test", "Dan", "pw4", "2010-01-01", "2019-01-01", None),
        (5, HELD_EMAIL, "Eve", "pw5", "2015-01-01", "2020-01-01", None),
        (6, "fay@example.test", "Fay", "pw6", "2015-01-01", "2026-05-20", "2026-01-01"),
        (7, "gus@example.test", "Gus", "pw7", "2015-01-01", "2020-01-01", None),
        (8, "hal@example.test", "Hal", "pw8", "2015-01-01", "2020-01-01", None),
    ],
    "orders": [
        (1, 2, "book", "2021-01-01"),
        (2, 4, "lamp", "2014-01-01"),
        (3, 3, "pen", "2020-01-01"),
    ],
    "invoices": [(1, 1, 2, 10, "2021-01-01"), (2, 2, 4, 20, "2014-01-01")],
    "sessions": [
        (1, 3, "10.0.0.1", "2026-05-25"),
        (2, 3, "10.0.0.2", "2026-01-01"),
        (3, 5, "10.0.0.3", "2026-01-01"),
    ],
    "disputes": [(1, 8, "late delivery", "2020-01-01")],
}


def ts(value: object) -> object:
    return datetime.fromisoformat(value) if isinstance(value, str) and value[:2] == "20" else value


def create_shop(url: str, extra_sessions: int = 0) -> None:
    engine = sa.create_engine(_with_driver(url))
    with engine.begin() as conn:
        for stmt in (FIXTURE / "schema.sql").read_text().split(";"):
            body = "\n".join(ln for ln in stmt.splitlines() if not ln.strip().startswith("--"))
            if body.strip():
                conn.exec_driver_sql(body)
        for table, rows in ROWS.items():
            cols = ", ".join(f":c{i}" for i in range(len(rows[0])))
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES ({cols})"),
                [{f"c{i}": ts(v) for i, v in enumerate(r)} for r in rows],
            )
        if extra_sessions:
            conn.execute(
                sa.text("INSERT INTO sessions VALUES (:i, 3, '10.1.1.1', :t)"),
                [{"i": 100 + i, "t": datetime(2025, 1, 1)} for i in range(extra_sessions)],
            )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def shop_url(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """The fixture shop on each engine; TROTH_CONN_SHOP points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    elif request.param == "postgres":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = str(request.getfixturevalue("mysql_url"))
    create_shop(url)
    monkeypatch.setenv("TROTH_CONN_SHOP", url)
    return url


@pytest.fixture
def sqlite_shop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_shop(url)
    monkeypatch.setenv("TROTH_CONN_SHOP", url)
    return url


@pytest.fixture
def state(tmp_path: Path) -> sa.Engine:
    return open_store(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def project() -> Project:
    return load_project(FIXTURE)


def ids(url: str, table: str) -> list[int]:
    engine = sa.create_engine(_with_driver(url))
    with engine.connect() as c:
        out = [int(r[0]) for r in c.exec_driver_sql(f"SELECT id FROM {table} ORDER BY id")]
    engine.dispose()
    return out


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(_with_driver(url))
    with engine.connect() as c:
        out = [tuple(r) for r in c.exec_driver_sql(sql)]
    engine.dispose()
    return out


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def any_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An empty database on each engine; TROTH_CONN_SHOP points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    elif request.param == "postgres":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = str(request.getfixturevalue("mysql_url"))
    monkeypatch.setenv("TROTH_CONN_SHOP", url)
    return url

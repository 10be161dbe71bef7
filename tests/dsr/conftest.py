"""Fixtures of the DSR tests: example projects over real databases on every engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from troth.datamap.demo import create_demo_db

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A new, empty database on SQLite, PostgreSQL and MariaDB in turn."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[request.param]
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def mydigisoft(
    db_url: str, troth_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The MyDigiSoft example project over demo data (30 customers) on the engine."""
    create_demo_db(db_url, "mydigisoft", customers=30)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", db_url)
    return EXAMPLES / "mydigisoft"


@pytest.fixture
def plus(db_url: str, troth_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    create_demo_db(db_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", db_url)
    return EXAMPLES / "plus"


def copy_project(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(src / name, dst / name)
    return dst

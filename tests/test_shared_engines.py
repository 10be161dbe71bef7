"""One pool per server URL and settings in a process: the state DB and the stores share one helper
(``troth.store.db.shared_engine``); nothing here connects, so no server is needed."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.config import Settings
from troth.connectors.sql import SqlConnector
from troth.store import open_store
from troth.store.db import _SHARED, forget_engines, shared_engine

PG = "postgresql+psycopg://troth@127.0.0.1:5432/troth_shared_test"


@pytest.fixture(autouse=True)
def _clean() -> None:
    forget_engines()


def test_one_engine_per_url_and_settings() -> None:
    made: list[str] = []

    def make() -> Engine:
        made.append("x")
        return sa.create_engine(PG)

    a = shared_engine(PG, make)
    assert shared_engine(PG, make) is a
    assert len(made) == 1
    assert shared_engine(PG, make, settings="tenant-2") is not a
    assert shared_engine(PG.replace("troth_shared_test", "other"), make) is not a
    assert len(made) == 3


def test_stores_and_the_state_db_use_the_same_helper(tmp_path: Path) -> None:
    one, two = SqlConnector(PG, "a"), SqlConnector(PG.replace("+psycopg", ""), "b")
    assert one.engine is two.engine  # the driver is added before the key is taken
    one.close()  # a server's pool outlives the request
    assert SqlConnector(PG, "c").engine is one.engine
    settings = Settings.from_env({"TROTH_HOME": str(tmp_path), "TROTH_DATABASE_URL": PG})
    state = open_store(settings, migrate=False)
    assert open_store(settings, migrate=False) is state
    other = replace(settings, secret_key=b"another-key-0123456789abcdef0123")
    assert open_store(other, migrate=False) is not state  # keyed by the settings too
    assert len(_SHARED) == 3
    forget_engines()
    assert not _SHARED
    assert SqlConnector(PG, "d").engine is not one.engine


def test_sqlite_engines_are_never_shared(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert SqlConnector(url, "a").engine is not SqlConnector(url, "b").engine
    assert not _SHARED


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_inherit_the_pools() -> None:
    parent = SqlConnector(PG, "a").engine
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own empty cache, a new engine
        ok = not _SHARED and SqlConnector(PG, "a").engine is not parent
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert SqlConnector(PG, "a").engine is parent

"""What a process keeps between requests (the loaded project, its plans, store schemas) never
hides a change: an edit to the policy, the map or the store's schema shows on the next call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.dsr.conftest import ROOT, copy_project

from troth.connectors.base import ColumnInfo, ForeignKeyInfo, SchemaInfo, TableInfo
from troth.connectors.sql import SqlConnector, _with_driver
from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access, schema_cache
from troth.dsr.stores import Stores, forget_schemas
from troth.project import cached_project, forget_projects, load_project

EMAIL = "customer7@example.com"


def _alter(sql: str) -> None:
    engine = sa.create_engine(_with_driver(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"]))
    try:
        with engine.begin() as c:
            c.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _counting_introspect(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = SqlConnector.introspect

    def counting(self: SqlConnector) -> Any:
        calls.append(self.name)
        return real(self)

    monkeypatch.setattr(SqlConnector, "introspect", counting)
    return calls


def test_a_schema_is_read_once_until_it_changes(
    mydigisoft: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting_introspect(monkeypatch)
    forget_schemas()
    for _ in range(3):
        with Stores() as stores:
            info = stores.schema("mydigisoft_shop").table("customers")
            assert info is not None
            assert info.column("nickname") is None
    assert calls == ["mydigisoft_shop"]
    _alter("ALTER TABLE customers ADD COLUMN nickname VARCHAR(40)")
    with Stores() as stores:  # the very next request sees it
        info = stores.schema("mydigisoft_shop").table("customers")
        assert info is not None
        assert info.column("nickname") is not None
    assert len(calls) == 2
    _alter("CREATE TABLE late_table (id INTEGER PRIMARY KEY)")
    with Stores() as stores:
        assert stores.schema("mydigisoft_shop").table("late_table") is not None
    assert len(calls) == 3


def test_policy_and_map_edits_show_on_the_next_call(mydigisoft: Path, tmp_path: Path) -> None:
    project = copy_project(mydigisoft, tmp_path / "project")
    first = access(project, [Identity("email", EMAIL)], output=tmp_path / "1.zip")
    assert first.ok
    assert first.request is not None
    assert first.request.jurisdiction is None
    assert "shop.support_tickets" in {t["table"] for t in first.tables}
    assert cached_project(project) is cached_project(project)  # unchanged: reused

    policy = project / "policy.yaml"
    policy.write_text(
        policy.read_text().replace("\njurisdictions: []", "\njurisdictions: [lgpd]", 1)
    )
    datamap = project / "datamap.yaml"
    text = datamap.read_text()
    start = text.index("\n          - name: support_tickets")
    end = text.index("\n          - name:", start + 10)
    datamap.write_text(text[:start] + text[end:])  # the map forgets a table

    second = access(project, [Identity("email", EMAIL)], output=tmp_path / "2.zip")
    assert second.ok
    assert second.request is not None
    assert second.request.jurisdiction == "lgpd"  # the edited policy, at once
    assert "shop.support_tickets" not in {t["table"] for t in second.tables}
    assert cached_project(project).digest == load_project(project).digest


def test_projects_do_not_share_what_they_derive(mydigisoft: Path, tmp_path: Path) -> None:
    """Two copies of one project at two paths: an edit to one does not reach the other."""
    forget_projects()
    a = copy_project(mydigisoft, tmp_path / "a")
    b = copy_project(mydigisoft, tmp_path / "b")
    assert cached_project(a) is not cached_project(b)
    datamap = b / "datamap.yaml"
    text = datamap.read_text()
    start = text.index("\n          - name: support_tickets")
    end = text.index("\n          - name:", start + 10)
    datamap.write_text(text[:start] + text[end:])
    ra = access(a, [Identity("email", EMAIL)], output=tmp_path / "a.zip")
    rb = access(b, [Identity("email", EMAIL)], output=tmp_path / "b.zip")
    assert "shop.support_tickets" in {t["table"] for t in ra.tables}
    assert "shop.support_tickets" not in {t["table"] for t in rb.tables}
    summary = json.dumps(rb.to_dict())
    assert "support_tickets" not in summary


# --- schemas kept on disk between processes ------------------------------------------------------


def _customers(cache: Path) -> Any:
    with Stores(cache_dir=cache) as stores:
        info = stores.schema("mydigisoft_shop").table("customers")
    assert info is not None
    return info


def test_a_new_process_starts_from_the_schema_an_earlier_one_read(
    mydigisoft: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server's schema is kept on disk under its fingerprint: the next process reads one
    fingerprint instead of the catalogue, and sees a change at once. SQLite's is not kept (its
    fingerprint is a counter another file at the same path can share)."""
    calls = _counting_introspect(monkeypatch)
    cache = tmp_path / "cache"
    server = not db_url.startswith("sqlite")
    forget_schemas()
    first = _customers(cache)
    assert calls == ["mydigisoft_shop"]
    files = list(cache.glob("*.json")) if cache.exists() else []
    assert len(files) == (1 if server else 0)
    forget_schemas()  # what a new process has in memory
    assert _customers(cache) == first
    assert len(calls) == (1 if server else 2)
    if server:
        text = files[0].read_text()
        assert "customers" in text
        assert "://" not in text  # no URL in the entry
        assert "127.0.0.1" not in text

    _alter("ALTER TABLE customers ADD COLUMN nickname VARCHAR(40)")
    forget_schemas()
    changed = _customers(cache)  # the fingerprint moved: read again
    assert changed.column("nickname") is not None
    n = len(calls)
    forget_schemas()
    assert _customers(cache).column("nickname") is not None  # and kept again
    assert len(calls) == (n if server else n + 1)


def test_an_unreadable_or_foreign_entry_is_read_again(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sa.create_engine(_with_driver(pg_url))
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    engine.dispose()
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", pg_url)
    calls = _counting_introspect(monkeypatch)
    cache = tmp_path / "cache"
    forget_schemas()
    expected = _customers(cache)
    (entry,) = cache.glob("*.json")
    good = entry.read_text()
    for bad in ("{not json", "[]", json.dumps({**json.loads(good), "format": 99}), ""):
        entry.write_text(bad)
        forget_schemas()
        assert _customers(cache) == expected
        assert json.loads(entry.read_text()) == json.loads(good)  # written again
    assert len(calls) == 5
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    forget_schemas()  # a cache that cannot be written (even by root): read, not failed
    assert _customers(blocked / "cache") == expected
    assert len(calls) == 6


def test_stores_at_two_urls_keep_two_entries(
    pg_url: str, pg_admin: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same connection name at two databases with the same tables: two entries, each with
    its own database; neither is handed the other's."""
    other = pg_url.rsplit("/", 1)[0] + "/" + pg_url.rsplit("/", 1)[1] + "_b"
    with pg_admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{other.rsplit("/", 1)[1]}"')
    try:
        for url in (pg_url, other):
            engine = sa.create_engine(_with_driver(url))
            with engine.begin() as c:
                c.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
            engine.dispose()
        cache = tmp_path / "cache"
        seen = {}
        for _ in range(2):
            for url in (pg_url, other):
                monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", url)
                forget_schemas()
                with Stores(cache_dir=cache) as stores:
                    seen[url] = stores.schema("mydigisoft_shop").database
        assert seen == {u: u.rsplit("/", 1)[1] for u in (pg_url, other)}
        assert len(list(cache.glob("*.json"))) == 2
    finally:
        with pg_admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{other.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_two_cli_processes_see_a_schema_change_between_them(
    pg_url: str, troth_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`troth dsr access` twice as processes, a column added between them: the second one's
    export has it (the first left the schema on disk under the old fingerprint)."""
    create_demo_db(pg_url, "mydigisoft", customers=5)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", pg_url)
    project = ROOT / "examples" / "mydigisoft"

    def customer_row(n: int) -> dict[str, Any]:
        out = tmp_path / f"{n}.zip"
        cmd = [sys.executable, "-m", "troth", "dsr", "access", str(project), "--json"]
        cmd += ["--email", "customer1@example.com", "-o", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=os.environ)
        assert done.returncode == 0, done.stderr[-400:]
        with zipfile.ZipFile(out) as z:
            name = next(n for n in z.namelist() if n.endswith("customers.json"))
            (row,) = json.loads(z.read(name))
        return dict(row)

    assert "nickname" not in customer_row(1)
    assert list((troth_env / "cache" / "schemas").glob("*.json"))
    _alter(
        "ALTER TABLE customers ADD COLUMN nickname VARCHAR(40);"
        "UPDATE customers SET nickname = 'Ace' WHERE id = 1"
    )
    assert customer_row(2)["nickname"] == "Ace"


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
columns = st.builds(ColumnInfo, names, names, st.booleans())
fks = st.builds(ForeignKeyInfo, st.tuples(names, names), names, st.tuples(names, names))
tables = st.builds(
    TableInfo,
    names,
    st.lists(columns, max_size=4).map(tuple),
    st.lists(names, max_size=2).map(tuple),
    st.lists(fks, max_size=2).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(tables, max_size=4).map(tuple), st.none() | names, names, names)
def test_an_entry_gives_back_the_schema_it_was_written_with(
    tables_: tuple[TableInfo, ...], database: str | None, where: str, version: str
) -> None:
    schema = SchemaInfo(tables_, database=database)
    with tempfile.TemporaryDirectory() as folder:
        schema_cache.save(Path(folder), where, version, schema)
        assert schema_cache.load(Path(folder), where, version) == schema
        assert schema_cache.load(Path(folder), where, version + "x") is None
        assert schema_cache.load(Path(folder), where + "x", version) is None


def test_the_fingerprint_read_is_the_requests_ping(
    mydigisoft: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request checks a SQL store is up by reading its schema fingerprint (which it reads
    anyway): one round trip, not a ping and then the fingerprint."""
    reads: list[str] = []
    real = SqlConnector.schema_version

    def no_ping(self: SqlConnector) -> None:
        raise AssertionError("pinged besides the fingerprint read")

    def counted(self: SqlConnector) -> str | None:
        reads.append(self.name)
        return real(self)

    monkeypatch.setattr(SqlConnector, "ping", no_ping)
    monkeypatch.setattr(SqlConnector, "schema_version", counted)
    result = access(mydigisoft, [Identity("email", EMAIL)], output=tmp_path / "a.zip")
    assert result.status == "completed"
    assert reads == ["mydigisoft_shop"]

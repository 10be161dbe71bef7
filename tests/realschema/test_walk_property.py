"""Property test: the rows a request's walk finds, through chains of `owns` references of any
depth (with NULL and dangling parents, case and space variants of the identity), equal a reference
computation in Python, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.connectors.sql import SqlConnector, _with_driver
from troth.datamap.graph import TableId
from troth.datamap.loader import load_datamap
from troth.dsr import Identity
from troth.dsr.plan import build_plan
from troth.dsr.resolve import resolve
from troth.dsr.stores import Stores

EMAILS = ["ada@example.com", "ADA@example.com ", "bob@example.com", " Bob@Example.com", None]
EXAMPLES = {"sqlite": 60, "postgres": 15, "mysql": 10}


def _map(depth: int) -> str:
    tables = [
        """\
        - name: t0
          fields:
            - {name: id, primary_key: true}
            - {name: email, identity: email, categories: [user.contact.email]}"""
    ]
    for k in range(1, depth + 1):
        tables.append(
            f"""\
        - name: t{k}
          fields:
            - {{name: id, primary_key: true}}
            - {{name: parent, references: [{{field: t{k - 1}.id, kind: owns}}]}}
            - {{name: note, categories: [user.content.private]}}"""
        )
    body = "\n".join(tables)
    head = """\
    troth: 1
    kind: datamap
    systems:
      - name: s
        datasets:
          - name: d
            connection: walk_db
            tables:
    """
    return textwrap.dedent(head) + textwrap.indent(textwrap.dedent(body), "          ")


@st.composite
def chains(draw: st.DrawFn) -> tuple[int, list[list[dict[str, Any]]]]:
    depth = draw(st.integers(1, 3))
    root = [
        {"id": i, "email": draw(st.sampled_from(EMAILS))}
        for i in range(1, draw(st.integers(0, 6)) + 1)
    ]
    levels: list[list[dict[str, Any]]] = [root]
    for _ in range(depth):
        above = [r["id"] for r in levels[-1]] + [None, 999]  # NULL and a parent that is not there
        n = draw(st.integers(0, 8))
        levels.append(
            [
                {"id": i, "parent": draw(st.sampled_from(above)), "note": f"n{i}"}
                for i in range(1, n + 1)
            ]
        )
    return depth, levels


def _expected(levels: list[list[dict[str, Any]]], email: str) -> list[set[int]]:
    want = email.strip().lower()
    found = [{r["id"] for r in levels[0] if r["email"] and r["email"].strip().lower() == want}]
    for rows in levels[1:]:
        found.append({r["id"] for r in rows if r["parent"] in found[-1]})
    return found


def _load(engine: sa.Engine, depth: int, levels: list[list[dict[str, Any]]]) -> None:
    with engine.begin() as c:
        for k in range(4, -1, -1):
            c.exec_driver_sql(f"DROP TABLE IF EXISTS t{k}")
        c.exec_driver_sql("CREATE TABLE t0 (id INTEGER PRIMARY KEY, email VARCHAR(100))")
        for k in range(1, depth + 1):
            # no foreign key: dangling parents are part of the property
            c.exec_driver_sql(
                f"CREATE TABLE t{k} (id INTEGER PRIMARY KEY, parent INTEGER, note VARCHAR(20))"
            )
        for k, rows in enumerate(levels):
            if rows:
                cols = list(rows[0])
                sql = f"INSERT INTO t{k} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
                c.execute(sa.text(sql), rows)


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres", "mysql"])
def test_walk_finds_exactly_the_reference_rows(
    engine_name: str, request: pytest.FixtureRequest
) -> None:
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[engine_name]
    url = str(request.getfixturevalue(fixture))
    engine = sa.create_engine(_with_driver(url))
    connector = SqlConnector(url, "walk_db")

    @settings(
        max_examples=EXAMPLES[engine_name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(chains(), st.sampled_from(["ada@example.com", "Bob@example.com", "nobody@example.com"]))
    def check(case: tuple[int, list[list[dict[str, Any]]]], email: str) -> None:
        depth, levels = case
        _load(engine, depth, levels)
        dm = load_datamap("datamap.yaml", None, text=_map(depth)).datamap
        plan = build_plan(dm, ["email"], "erase")
        stores = Stores(connectors={"walk_db": connector})
        res = resolve(plan, stores, [Identity("email", email)], datamap=dm)
        expected = _expected(levels, email)
        for k in range(depth + 1):
            entries = res.keys.get(TableId("d", f"t{k}"), [])
            values = set().union(*(e.values for e in entries)) if entries else set()
            if k == 0:  # found by the identity: written by its primary keys
                got = values
            else:  # found through its parents: written by the parents' keys
                assert all(e.columns == ("parent",) for e in entries)
                got = {r["id"] for r in levels[k] if r["parent"] in values}
            assert got == expected[k], (k, levels)
            assert res.counts[TableId("d", f"t{k}")] == len(expected[k])

    try:
        check()
    finally:
        connector.close()
        engine.dispose()

"""Helpers for retention tests on real schema shapes: write a project, build a store on any
engine, hash every row of every table, and compute what a sweep must leave.

A test states the expected effect as a function ``fate(table, row) -> row | None`` (None: the row
is deleted; a changed dict: the row is anonymised). :func:`assert_effects` hashes every row of
every table before and after and compares the multisets, so a row changed that should not have
been (or a table nobody looked at) fails the test.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from troth.connectors.sql import _with_driver
from troth.project import Project, load_project
from troth.retention import Sweeper, build_plan, open_stores
from troth.retention.holds import active_person_holds
from troth.retention.plan import RetentionPlan
from troth.retention.sweep import RunReport

FIXTURE_POLICY = Path(__file__).parent.parent / "fixtures" / "retention" / "policy.yaml"
KEY = b"test-secret-key-0123456789abcdef"

Row = dict[str, Any]
Fate = Callable[[str, Row], Row | None]


def write_project(folder: Path, retention: str, datamap: str) -> Project:
    """The fixture policy with ``retention`` as its retention rules, and ``datamap``."""
    text = FIXTURE_POLICY.read_text()
    head, rest = text.split("\nretention:\n", 1)
    tail = rest[rest.index("\nrecipients:") :]
    folder.mkdir(parents=True, exist_ok=True)
    rules = textwrap.indent(textwrap.dedent(retention).strip("\n"), "  ")
    (folder / "policy.yaml").write_text(f"{head}\nretention:\n{rules}\n{tail}")
    (folder / "datamap.yaml").write_text(textwrap.dedent(datamap))
    return load_project(folder)


def engine(url: str) -> sa.Engine:
    return sa.create_engine(_with_driver(url), poolclass=sa.pool.NullPool)


def create(url: str, ddl: Sequence[str], rows: Mapping[str, Sequence[Row]]) -> None:
    """Run the DDL and insert the rows (in the mapping's order: parents first)."""
    eng = engine(url)
    with eng.begin() as c:
        for stmt in ddl:
            c.exec_driver_sql(textwrap.dedent(stmt))
        for table, data in rows.items():
            if data:
                cols = list(data[0])
                t = sa.table(table, *(sa.column(k) for k in cols))
                c.execute(sa.insert(t), [dict(r) for r in data])
    eng.dispose()


def drop(url: str, tables: Sequence[str]) -> None:
    """Drop the tables (children first), whatever the engine."""
    eng = engine(url)
    with eng.begin() as c:
        if eng.dialect.name == "mysql":
            c.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            c.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        if eng.dialect.name == "mysql":
            c.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
    eng.dispose()


def _norm(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, bytes):
        return value.hex()
    return value


def read_all(url: str) -> dict[str, list[Row]]:
    """Every row of every table, values normalised (datetimes as ISO text)."""
    eng = engine(url)
    out: dict[str, list[Row]] = {}
    with eng.connect() as c:
        for table in sorted(sa.inspect(c).get_table_names()):
            result = c.execute(sa.text(f"SELECT * FROM {table}"))
            names = list(result.keys())
            out[table] = [{k: _norm(v) for k, v in zip(names, r, strict=True)} for r in result]
    eng.dispose()
    return out


def row_hash(row: Row) -> str:
    text = json.dumps(sorted(row.items()), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def hashes(tables: Mapping[str, Sequence[Row]]) -> dict[str, Counter[str]]:
    return {t: Counter(row_hash(r) for r in rows) for t, rows in tables.items()}


def expected_after(before: Mapping[str, Sequence[Row]], fate: Fate) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for table, rows in before.items():
        kept = []
        for r in rows:
            new = fate(table, dict(r))
            if new is not None:
                kept.append(new)
        out[table] = kept
    return out


def assert_effects(
    before: Mapping[str, Sequence[Row]], after: Mapping[str, Sequence[Row]], fate: Fate
) -> None:
    """Every row of every table is what ``fate`` says, no more and no less."""
    want = expected_after(before, fate)
    assert set(after) == set(want)
    for table in want:
        got, exp = hashes({table: after[table]})[table], hashes({table: want[table]})[table]
        if got != exp:
            extra = [r for r in after[table] if got[row_hash(r)] > exp[row_hash(r)]]
            missing = [r for r in want[table] if exp[row_hash(r)] > got[row_hash(r)]]
            raise AssertionError(f"{table}: unexpected rows {extra}; missing rows {missing}")


def unchanged(_table: str, row: Row) -> Row:
    return row


def plan(project: Project, state: sa.Engine, now: datetime, **kw: Any) -> RetentionPlan:
    with open_stores() as stores:
        return build_plan(
            project, stores, key=KEY, now=now, person=active_person_holds(state), **kw
        )


def sweep(project: Project, state: sa.Engine, now: datetime, **kw: Any) -> RunReport:
    with open_stores() as stores:
        return Sweeper(project, stores, state, key=KEY, now=now, **kw).run()


def totals(report: RunReport) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(r.rule_id, r.table): (r.deleted, r.anonymised, r.held) for r in report.results}


def plan_totals(p: RetentionPlan) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(i.binding.rule.id, i.binding.table): (i.delete, i.anonymise, i.held) for i in p.items}

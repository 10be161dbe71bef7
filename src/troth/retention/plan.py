"""The retention planner: per rule and table, the SQL and how many rows it would affect now.

Planning never changes data: it binds the rules (:mod:`troth.retention.bind`), checks each binding
against the live schema (a missing column or a timestamp that is not a date/time type is a
:class:`~troth.errors.RetentionError` located in the data map), and counts with one ``SELECT`` per
binding the rows it would delete, anonymise, and keep because of a legal hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from troth.connectors.base import SchemaInfo
from troth.connectors.names import open_connection
from troth.connectors.sql import SqlConnector
from troth.datamap.loader import DataMapDocument
from troth.errors import RetentionError
from troth.project import Project
from troth.retention.bind import Binding, BindResult, Unbound, bind_rules
from troth.retention.query import BindingSql, PersonHolds, one_statement_batches, sql_text

_TIME_TYPES = ("date", "time")


def utc_now() -> datetime:
    """Now in UTC, naive (the stores' TIMESTAMP columns hold UTC without a zone)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass
class PlanItem:
    binding: Binding
    cutoff: datetime
    delete: int
    anonymise: int
    held: int
    sql: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        b = self.binding
        return {
            "rule": b.rule.id,
            "dataset": b.dataset,
            "table": b.table,
            "action": b.action.value,
            "trigger": b.rule.trigger.value,
            "period": str(b.period),
            "timestamp": str(b.timestamp),
            "via": [f"{j.column}->{j.table}.{j.key}" for j in b.timestamp.joins],
            "cutoff": self.cutoff.isoformat(),
            "fields": list(b.fields),
            "holds": [h.id for h in b.holds],
            "delete": self.delete,
            "anonymise": self.anonymise,
            "held": self.held,
            "sql": self.sql,
        }


@dataclass
class RetentionPlan:
    now: datetime
    items: list[PlanItem] = field(default_factory=list)
    unbound: list[Unbound] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "items": [i.as_dict() for i in self.items],
            "unbound": [
                {"rule": u.rule.id, "dataset": u.dataset, "table": u.table.name, "reason": u.reason}
                for u in self.unbound
            ],
        }


class Stores:
    """Open SQL connectors by connection name (``TROTH_CONN_<NAME>``), introspected once."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env
        self._conns: dict[str, SqlConnector] = {}
        self._schemas: dict[str, SchemaInfo] = {}

    def get(self, name: str) -> SqlConnector:
        if name not in self._conns:
            conn = open_connection(name, self.env)
            if not isinstance(conn, SqlConnector):
                raise RetentionError(
                    f"connection {name!r} is not a SQL store",
                    where=f"connection {name!r}",
                    fix="retention sweeps run on SQL stores (SQLite, PostgreSQL, MariaDB)",
                )
            self._conns[name] = conn
        return self._conns[name]

    def schema(self, name: str) -> SchemaInfo:
        if name not in self._schemas:
            self._schemas[name] = self.get(name).introspect()
        return self._schemas[name]

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


@contextmanager
def open_stores(env: Mapping[str, str] | None = None) -> Iterator[Stores]:
    stores = Stores(env)
    try:
        yield stores
    finally:
        stores.close()


def bind_project(project: Project, rules: list[str] | None = None) -> BindResult:
    if project.datamap is None:
        raise RetentionError(
            "the project has no data map, so no rule can be bound to data",
            where=str(project.policy.path.parent),
            fix="add datamap.yaml beside policy.yaml (`troth datamap introspect`)",
        )
    known = {r.id for r in project.policy.policy.retention}
    for rid in rules or []:
        if rid not in known:
            from troth.errors import UnknownNameError

            raise UnknownNameError("retention rule", rid, known, where="--rule")
    return bind_rules(project.policy.policy, project.datamap.datamap, rules=rules)


def validate_live(binding: Binding, schema: SchemaInfo, dm: DataMapDocument) -> dict[str, str]:
    """Check the binding's columns against the live schema; the bound table's column types."""
    table = schema.table(binding.table)
    if table is None:
        raise RetentionError(
            f"table {binding.dataset}.{binding.table} of rule {binding.rule.id!r} is not in the "
            "store",
            where=dm.where(dm.datamap.resolve(binding.dataset, binding.table), "name"),
            fix="correct the data map (`troth datamap check --live`)",
        )
    needed: list[tuple[str, str]] = [(binding.table, c) for c in (binding.pk, *binding.fields)]
    for ref in (binding.timestamp, binding.identity, *(h.anchor for h in binding.holds)):
        if ref is None:
            continue
        here = binding.table
        for j in ref.joins:
            needed += [(here, j.column), (j.table, j.key)]
            here = j.table
        needed.append((ref.table, ref.column))
    needed += [(c.table, c.column) for c in binding.children]
    for tname, col in needed:
        live = schema.table(tname)
        if live is None or live.column(col) is None:
            element = dm.datamap.resolve(binding.dataset, tname, col)
            raise RetentionError(
                f"rule {binding.rule.id!r} needs column {tname}.{col}, which the store "
                f"{binding.connection!r} does not have",
                where=dm.where(element, "name") if element else dm.where(),
                fix="correct the data map or the schema (`troth datamap check --live`)",
            )
    ts_table = schema.table(binding.timestamp.table)
    assert ts_table is not None
    ts_col = ts_table.column(binding.timestamp.column)
    assert ts_col is not None
    if not any(t in ts_col.type.lower() for t in _TIME_TYPES):
        element = dm.datamap.resolve(binding.dataset, binding.timestamp.table, ts_col.name)
        raise RetentionError(
            f"rule {binding.rule.id!r} is driven by {binding.timestamp}, which is a "
            f"{ts_col.type}, not a date/time column",
            where=dm.where(element, "retention_timestamp"),
            fix="mark a DATE/TIMESTAMP column with `retention_timestamp: true`, or change the "
            "column's type",
        )
    return {c.name: c.type for c in table.columns}


def binding_sql(
    binding: Binding,
    stores: Stores,
    dm: DataMapDocument,
    *,
    now: datetime,
    key: bytes,
    person: PersonHolds | None = None,
) -> BindingSql:
    types = validate_live(binding, stores.schema(binding.connection), dm)
    dialect = stores.get(binding.connection).engine.dialect.name
    return BindingSql(binding, dialect=dialect, now=now, key=key, person=person, types=types)


def statements(q: BindingSql, dialect: sa.Dialect) -> dict[str, str]:
    """The statements a run sends for ``q`` on ``dialect`` (placeholders only)."""
    out: dict[str, str] = {"count": sql_text(q.count_statement(), dialect)}
    one = one_statement_batches(dialect)
    pred = q.delete_predicate()
    if pred is not None:
        if one:
            out["delete"] = sql_text(q.batch_write(pred, delete=True, after=True), dialect)
        else:
            out["select_batch"] = sql_text(q.batch_select(pred, after=True), dialect)
            out["delete"] = sql_text(q.delete_statement(pred), dialect)
    anon = q.anonymise_predicate()
    if anon is not None:
        if one:
            out["anonymise"] = sql_text(q.batch_write(anon, delete=False, after=True), dialect)
        else:
            out["select_anonymise_batch"] = sql_text(q.batch_select(anon, after=True), dialect)
            out["anonymise"] = sql_text(q.update_statement(anon), dialect)
    return out


@dataclass(frozen=True)
class Counts:
    """Rows to delete, to anonymise and held; the lowest and highest expired key (or None)."""

    delete: int
    anonymise: int
    held: int
    lo: Any = None
    hi: Any = None


def measure(q: BindingSql, conn: SqlConnector) -> Counts:
    stmt = q.count_statement()
    with conn._mapped("count expired rows", q.b.table), conn.engine.connect() as c:
        row = c.execute(stmt, q.params).one()
    return Counts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), row[3], row[4])


def count(q: BindingSql, conn: SqlConnector) -> tuple[int, int, int]:
    c = measure(q, conn)
    return c.delete, c.anonymise, c.held


def build_plan(
    project: Project,
    stores: Stores,
    *,
    key: bytes,
    rules: list[str] | None = None,
    now: datetime | None = None,
    person: PersonHolds | None = None,
) -> RetentionPlan:
    """Bind, validate against the live stores and count; no data is changed."""
    now = now or utc_now()
    bound = bind_project(project, rules)
    dm = project.datamap
    assert dm is not None
    plan = RetentionPlan(now=now, unbound=bound.unbound)
    for b in bound.bindings:
        q = binding_sql(b, stores, dm, now=now, key=key, person=person)
        conn = stores.get(b.connection)
        deleted, anonymised, held = count(q, conn)
        plan.items.append(
            PlanItem(b, q.cutoff, deleted, anonymised, held, statements(q, conn.engine.dialect))
        )
    return plan

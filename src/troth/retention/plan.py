"""The retention planner: per rule and table, the SQL and how many rows it would affect now.

Planning never changes data: it binds the rules (:mod:`troth.retention.bind`), checks each binding
against the live schema (a missing column, a timestamp that is not a date/time type, a row
condition whose value does not fit its column: a :class:`~troth.errors.RetentionError` located in
the data map), builds each store's :class:`~troth.retention.safety.DeleteGraph` (the run order and
foreign-key safety), and counts with one ``SELECT`` per binding the rows it would delete,
anonymise, and keep, per hold. The sweeper runs the very same predicates, so the counts are what
the run does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from troth.connectors.base import SchemaInfo
from troth.connectors.names import open_connection
from troth.connectors.sql import SqlConnector
from troth.datamap.graph import Graph
from troth.datamap.loader import DataMapDocument
from troth.errors import RetentionError
from troth.project import Project
from troth.retention.batches import Counts, Phase, measure, sql_text
from troth.retention.bind import Binding, BindResult, Unbound, bind_rules
from troth.retention.query import BindingSql, PersonHolds, key_shape
from troth.retention.safety import DeleteGraph, other_store_referrers, referrers
from troth.retention.validate import validate_live


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
    kept: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    key: str = ""

    def as_dict(self) -> dict[str, Any]:
        b = self.binding
        return {
            "rule": b.rule.id,
            "dataset": b.dataset,
            "table": b.table,
            "action": b.action.value,
            "trigger": b.rule.enforced_trigger.value,
            "period": str(b.period),
            "timestamp": str(b.timestamp),
            "via": b.timestamp.via(),
            "where": [c.describe() for c in b.conditions],
            "key": self.key,
            "cutoff": self.cutoff.isoformat(),
            "fields": list(b.fields),
            "holds": [h.id for h in b.holds],
            "delete": self.delete,
            "anonymise": self.anonymise,
            "held": self.held,
            "kept": self.kept,
            "notes": self.notes,
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
                {
                    "rule": u.rule.id,
                    "dataset": u.dataset,
                    "table": u.table.name,
                    "reason": u.reason,
                    "fix": u.fix,
                }
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


@dataclass
class Prepared:
    """Every binding of a run, in run order, with its SQL and its foreign-key notes."""

    now: datetime
    sqls: list[BindingSql]
    unbound: list[Unbound]
    notes: dict[str, list[str]]


def prepare(
    project: Project,
    stores: Stores,
    *,
    key: bytes,
    rules: list[str] | None = None,
    now: datetime,
    person: PersonHolds | None = None,
) -> Prepared:
    """Bind, validate against the live stores, and compose each store's predicates."""
    bound = bind_project(project, rules)
    dm = project.datamap
    assert dm is not None
    graph = Graph.build(dm.datamap)
    by_store: dict[str, list[BindingSql]] = {}
    for b in bound.bindings:
        by_store.setdefault(b.dataset, []).append(
            _binding_sql(b, stores, dm, now=now, key=key, person=person)
        )
    sqls: list[BindingSql] = []
    notes: dict[str, list[str]] = {}
    for dataset, qs in by_store.items():
        schema = stores.schema(qs[0].b.connection)
        refs = referrers(graph, dataset, schema)
        _validate_referrers(refs, schema, dm, dataset)
        for q in qs:
            _check_masked_keys(q.b, refs, dm)
        g = DeleteGraph(qs, refs)
        for q in g.order:
            notes[q.b.name] = _notes(q, g, graph)
            q.delete_predicate()  # compose now: a cycle or a bad self-reference refuses here
        sqls += g.order
    return Prepared(now, sqls, bound.unbound, notes)


def _binding_sql(
    b: Binding,
    stores: Stores,
    dm: DataMapDocument,
    *,
    now: datetime,
    key: bytes,
    person: PersonHolds | None,
) -> BindingSql:
    schema = stores.schema(b.connection)
    types = validate_live(b, schema, dm)
    dialect = stores.get(b.connection).engine.dialect.name
    live = schema.table(b.table)
    assert live is not None
    shape = key_shape(b.key or live.primary_key, dialect)
    person = person or PersonHolds()
    for ph in person.rows.get((b.dataset, b.table), ()):
        parts = ph.value.split(",") if len(shape.columns) > 1 else [ph.value]
        if shape.kind != "key" or len(parts) != len(shape.columns):
            what = (
                "but the table has no primary key"
                if shape.kind != "key"
                else f"with {len(parts)} value(s), not {len(shape.columns)}"
            )
            raise RetentionError(
                f"person hold {ph.id} names a row of {b.dataset}.{b.table} by key {what}",
                where=f"person hold {ph.id}",
                fix="release it (`troth retention hold remove`) and hold the row by its full key "
                "(comma-separated in key order), or hold the person by identity",
            )
    columns = {t.name: [c.name for c in t.columns] for t in schema.tables}
    return BindingSql(
        b,
        dialect=dialect,
        now=now,
        key=key,
        columns=columns,
        types=types,
        shape=shape,
        person=person,
    )


def _validate_referrers(
    refs: Mapping[str, list[Any]], schema: SchemaInfo, dm: DataMapDocument, dataset: str
) -> None:
    for parent, rs in refs.items():
        for r in rs:
            for table, cols in ((r.child, r.columns), (parent, r.parent_columns)):
                live = schema.table(table)
                for col in cols:
                    if live is None or live.column(col) is None:
                        element = dm.datamap.resolve(dataset, table, col)
                        raise RetentionError(
                            f"the data map's reference {r.describe()} -> {parent} names column "
                            f"{table}.{col}, which the store does not have, so troth cannot tell "
                            "which rows still point at a row",
                            where=dm.where(element, "name") if element else dm.where(),
                            fix="correct the data map or the schema (`troth datamap check --live`)",
                        )


def _check_masked_keys(b: Binding, refs: Mapping[str, list[Any]], dm: DataMapDocument) -> None:
    """Anonymising a column that a reference uses would break it (or the store refuses)."""
    for col, strategy in b.masks.items():
        uses = [r for r in refs.get(b.table, []) if col in r.parent_columns]
        uses += [
            r
            for rs in refs.values()
            for r in rs
            if r.child == b.table and col in r.columns and strategy != "null"
        ]
        if uses:
            element = dm.datamap.resolve(b.dataset, b.table, col)
            raise RetentionError(
                f"rule {b.rule.id!r} would anonymise {b.table}.{col}, which the reference "
                f"{uses[0].describe()} -> {uses[0].parent} uses, so the rows would no longer "
                "point at each other",
                where=dm.where(element, "categories") if element else dm.where(),
                fix="take the category off the key column (keys are not personal data in "
                "themselves), or give the column `mask: null` if it is a nullable reference",
            )


def _notes(q: BindingSql, g: DeleteGraph, graph: Graph) -> list[str]:
    b = q.b
    out = [f"rows are named by {q.shape.describe()}"]
    if b.conditions:
        out.append("only rows where " + " AND ".join(c.describe() for c in b.conditions))
    for h in b.holds:
        out.append(f"hold {h.describe()}: {h.reason}")
    if b.action.value == "delete":
        ext = g.external(b.table)
        if ext:
            out.append(
                "a row that a row which stays (not due, held, or no delete rule's) still points "
                "at is anonymised instead of deleted; referenced by "
                + ", ".join(r.describe() for r in ext)
            )
        selfs = g.self_refs(b.table)
        if selfs:
            out.append(
                "self-reference "
                + ", ".join(r.describe() for r in selfs)
                + ": a row that a staying row points at, directly or through a chain, is "
                "anonymised; the others are deleted leaves first"
            )
        for lk in other_store_referrers(graph, b.dataset, b.table):
            out.append(
                f"{lk.child} (another store) references this table: a sweep cannot see those "
                "rows, which may be left pointing at deleted rows"
            )
    return out


def binding_statements(q: BindingSql, dialect: Any) -> dict[str, str]:
    """The statements a run sends for ``q`` (placeholders only)."""
    from troth.retention.batches import count_statement

    out: dict[str, str] = {"count": sql_text(count_statement(q), dialect)}
    for name, pred, delete in (
        ("delete", q.delete_predicate(), True),
        ("anonymise", q.anonymise_predicate(), False),
    ):
        if pred is None:
            continue
        phase = Phase(q, pred, delete=delete, batch_size=1000)
        for part, stmt in phase.statements().items():
            out[name if part == "batch" else f"{name}_{part}"] = sql_text(stmt, dialect)
    return out


def count(q: BindingSql, conn: SqlConnector) -> Counts:
    return measure(q, conn)


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
    prep = prepare(project, stores, key=key, rules=rules, now=now, person=person)
    plan = RetentionPlan(now=now, unbound=prep.unbound)
    for q in prep.sqls:
        conn = stores.get(q.b.connection)
        c = measure(q, conn)
        plan.items.append(
            PlanItem(
                q.b,
                q.cutoff,
                c.delete,
                c.anonymise,
                c.held,
                binding_statements(q, conn.engine.dialect),
                kept=[{**ref.as_dict(), "rows": n} for ref, n in c.kept],
                notes=prep.notes[q.b.name],
                key=q.shape.describe(),
            )
        )
    return plan

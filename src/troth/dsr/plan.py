"""The planner: from the identities a request names to an ordered, printable traversal.

A :class:`Plan` is pure data built from the data map alone (no store is touched): an ordered list
of :class:`Step` (one table each: the columns it is looked up by, where their values come from,
the columns it yields for later steps, the SQL it runs with placeholders) and, for an erasure, the
:class:`TableAction` per table in foreign-key-safe order with what legal holds keep.

Order: breadth first from the identity tables over :meth:`Graph.edges_from`. A table reached by
several edges is one step with several lookups. When an edge leads back to an earlier step (a
cycle, a self-reference) the plan is *cyclic*: the executor repeats the steps with only the newly
found values until nothing new turns up (at most as many passes as the cycle is long).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from troth.datamap.graph import FieldId, Graph, TableId, holds_personal_data
from troth.datamap.model import DataMap, EraseAction, Table
from troth.dsr.sqltext import delete_sql, mask_sql, select_sql
from troth.errors import RequestError

PlanKind = Literal["access", "erase"]


@dataclass(frozen=True)
class Lookup:
    """Rows of the step's table whose ``column`` holds values of an identity or another field."""

    column: str
    identity: str | None = None
    source: FieldId | None = None

    def describe(self) -> str:
        return f"identity {self.identity}" if self.identity else str(self.source)


@dataclass(frozen=True)
class Step:
    index: int
    table: TableId
    connection: str
    lookups: tuple[Lookup, ...]
    primary_key: tuple[str, ...]
    yields: tuple[str, ...]
    personal: bool
    sql: tuple[str, ...]

    def key_columns(self) -> tuple[str, ...]:
        """Columns a resolution reads: primary key, lookup columns and yielded columns."""
        cols = [*self.primary_key, *(lk.column for lk in self.lookups), *self.yields]
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True)
class Kept:
    """Data erasure keeps: a field (``*`` for the whole table) and the hold's reason."""

    field: str
    hold: str
    reason: str
    law: str | None = None


@dataclass(frozen=True)
class TableAction:
    """What erasure does to one table's rows of the person."""

    table: TableId
    connection: str
    action: Literal["mask", "delete_row", "keep", "none"]
    masks: tuple[tuple[str, str], ...] = ()  # (field, strategy)
    kept: tuple[Kept, ...] = ()
    sql: str | None = None


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    identities: tuple[str, ...]
    steps: tuple[Step, ...]
    cyclic: bool
    actions: tuple[TableAction, ...] = ()
    connections: tuple[str, ...] = field(default=())

    def step(self, table: TableId) -> Step:
        return next(s for s in self.steps if s.table == table)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "identities": list(self.identities),
            "cyclic": self.cyclic,
            "steps": [
                {
                    "index": s.index,
                    "table": str(s.table),
                    "connection": s.connection,
                    "lookups": [{"column": lk.column, "from": lk.describe()} for lk in s.lookups],
                    "primary_key": list(s.primary_key),
                    "yields": list(s.yields),
                    "personal": s.personal,
                    "sql": list(s.sql),
                }
                for s in self.steps
            ],
            "erase": [
                {
                    "table": str(a.table),
                    "action": a.action,
                    "masks": [{"field": f, "strategy": m} for f, m in a.masks],
                    "kept": [
                        {"field": k.field, "hold": k.hold, "reason": k.reason, "law": k.law}
                        for k in a.kept
                    ],
                    "sql": a.sql,
                }
                for a in self.actions
            ],
        }


def build_plan(datamap: DataMap, identities: Iterable[str], kind: PlanKind = "access") -> Plan:
    """The traversal for a request naming ``identities`` (identity names, never values)."""
    graph = Graph.build(datamap)
    names = tuple(sorted(set(identities)))
    known = sorted(set(graph.identities.values()))
    for name in names:
        if name not in known:
            raise RequestError(
                f"no field of the data map holds the identity {name!r}",
                where="data map",
                fix=f"use one of: {', '.join(known)}" if known else "mark identity fields",
            )
    if not names:
        raise RequestError("a request needs at least one identity", fix="pass --email or another")
    order = _order(graph, names)
    index = {tid: i for i, tid in enumerate(order)}
    conn = {TableId(ds.name, t.name): ds.connection for ds, t in datamap.tables()}
    steps: list[Step] = []
    cyclic = False
    for i, tid in enumerate(order):
        table = graph.tables[tid]
        lookups = [
            Lookup(fid.field, identity=name)
            for fid, name in sorted(graph.identities.items())
            if fid.table_id == tid and name in names
        ]
        for edge in graph.edges:
            if edge.dst.table_id == tid and edge.src.table_id in index:
                lookups.append(Lookup(edge.dst.field, source=edge.src))
                cyclic = cyclic or index[edge.src.table_id] >= i
        yields = tuple(
            dict.fromkeys(e.src.field for e in graph.edges_from(tid) if e.dst.table_id in index)
        )
        pk = tuple(table.primary_key())
        found = tuple(dict.fromkeys(lookups))
        cols = tuple(dict.fromkeys([*pk, *(lk.column for lk in found), *yields]))
        sql = tuple(select_sql(tid.table, cols, lk.column) for lk in found)
        steps.append(Step(i, tid, conn[tid], found, pk, yields, holds_personal_data(table), sql))
    actions = _erase_actions(graph, steps) if kind == "erase" else ()
    return Plan(
        kind,
        names,
        tuple(steps),
        cyclic,
        actions,
        tuple(dict.fromkeys(s.connection for s in steps)),
    )


def _order(graph: Graph, names: Sequence[str]) -> list[TableId]:
    """Reached tables, each after every table it gets values from; cycles broken breadth first."""
    roots = sorted(graph.identity_tables(names))
    bfs = {t: i for i, t in enumerate(roots)}
    queue = deque(roots)
    while queue:
        tid = queue.popleft()
        for edge in graph.edges_from(tid):
            if edge.dst.table_id not in bfs:
                bfs[edge.dst.table_id] = len(bfs)
                queue.append(edge.dst.table_id)
    sources: dict[TableId, set[TableId]] = {t: set() for t in bfs}
    for edge in graph.edges:
        a, b = edge.src.table_id, edge.dst.table_id
        if a in bfs and b in bfs and a != b:
            sources[b].add(a)
    order: list[TableId] = []
    left = sorted(bfs, key=bfs.__getitem__)
    while left:
        placed = set(order)
        ready = [t for t in left if sources[t] <= placed]
        nxt = ready[0] if ready else left[0]  # no table is ready: a cycle, break it
        order.append(nxt)
        left.remove(nxt)
    return order


def erase_key(step: Step) -> str | None:
    """The column erasure finds rows by: the single-column primary key, when there is one."""
    return step.primary_key[0] if len(step.primary_key) == 1 else None


def _table_action(tid: TableId, connection: str, table: Table, step: Step) -> TableAction:
    key = erase_key(step) or (step.lookups[0].column if step.lookups else "?")
    table_holds = tuple(Kept("*", h.id, h.reason, h.law) for h in table.legal_holds)
    if table_holds:
        return TableAction(tid, connection, "keep", kept=table_holds)
    field_holds = tuple(
        Kept(f.name, h.id, h.reason, h.law) for f in table.fields for h in f.legal_holds
    )
    held = {k.field for k in field_holds}
    if table.erase == EraseAction.delete_row and not field_holds:
        return TableAction(tid, connection, "delete_row", sql=delete_sql(tid.table, key))
    masks = tuple(
        (f.name, f.mask.value)
        for f in table.fields
        if f.mask is not None and f.name not in held and not f.primary_key
    )
    if not masks:
        return TableAction(tid, connection, "none", kept=field_holds)
    return TableAction(tid, connection, "mask", masks, field_holds, mask_sql(tid.table, masks, key))


def _erase_actions(graph: Graph, steps: Sequence[Step]) -> tuple[TableAction, ...]:
    actions = {
        s.table: _table_action(s.table, s.connection, graph.tables[s.table], s) for s in steps
    }
    # a table whose field references another table's field is its child: delete children first
    parents: dict[TableId, set[TableId]] = {tid: set() for tid in actions}
    for edge in graph.edges:
        a, b = edge.src.table_id, edge.dst.table_id
        if a in actions and b in actions and a != b:
            child, parent = _child_parent(graph, edge.src, edge.dst)
            parents[child].add(parent)
    ordered: list[TableId] = []
    placed: set[TableId] = set()
    pending = sorted(actions, key=lambda t: next(s.index for s in steps if s.table == t))

    def place(tid: TableId, path: frozenset[TableId]) -> None:
        if tid in placed or tid in path:  # placed, or a reference cycle (broken here)
            return
        for child in pending:
            if tid in parents[child]:
                place(child, path | {tid})
        placed.add(tid)
        ordered.append(tid)

    for tid in pending:
        place(tid, frozenset())
    return tuple(actions[t] for t in ordered)


def _child_parent(graph: Graph, a: FieldId, b: FieldId) -> tuple[TableId, TableId]:
    """Of two linked fields, the one whose table declares the reference is the child."""
    table = graph.tables[a.table_id]
    fld = table.field(a.field)
    target = (b.dataset, b.table, b.field)
    if fld is not None and any(r.target(a.dataset) == target for r in fld.references):
        return a.table_id, b.table_id
    return b.table_id, a.table_id

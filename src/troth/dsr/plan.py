"""The planner: from the identities a request names to an ordered, printable traversal.

A :class:`Plan` is pure data built from the data map alone (no store is touched): an ordered list
of :class:`Step` (one table each: the columns it is looked up by, where their values come from,
the scope columns that bound it, the columns it yields for later steps, its SQL with placeholders),
the :class:`Mention` lookups (an identity inside a JSON array of someone else's row) and, for an
erasure, the :class:`TableAction` per table in foreign-key-safe order: what it does to every
personal field (:mod:`troth.datamap.erasure`), what legal holds keep and until when, and which
references may point at its rows (a row that a row which stays still points at is masked instead
of deleted).

Order: breadth first from the identity tables over :meth:`Graph.edges_from`, which follows only
``owns``, ``link`` and ``same_person`` references. A table reached by several edges is one step
with several lookups. When an edge leads back to an earlier step (a cycle, a self-reference) the
plan is *cyclic*: the executor repeats the steps with only the newly found values until nothing new
turns up.

A plan that cannot erase every personal field it reaches raises :class:`RequestError` here,
before any store is touched.

The plan's data classes are in :mod:`~troth.dsr.plan_types`, the erasure actions are built in
:mod:`~troth.dsr.plan_erase`; both are re-exported here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from troth.datamap.erasure import field_actions
from troth.datamap.graph import Graph, IdentityRef, TableId, holds_personal_data
from troth.datamap.model import DataMap
from troth.datamap.normalise import form_of
from troth.dsr.plan_erase import erase_actions, hold_via
from troth.dsr.plan_types import (
    Hold,
    Kept,
    Lookup,
    Mention,
    Plan,
    PlanKind,
    Referrer,
    Step,
    TableAction,
)
from troth.dsr.sqltext import select_sql
from troth.errors import RequestError


def build_plan(
    datamap: DataMap,
    identities: Iterable[str],
    kind: PlanKind = "access",
    *,
    masking_defaults: Mapping[str, str] | None = None,
) -> Plan:
    """The traversal for a request naming ``identities`` (identity names, never values)."""
    graph = Graph.build(datamap)
    names = tuple(sorted(set(identities)))
    if not names:
        raise RequestError("a request needs at least one identity", fix="pass --email or another")
    known = graph.identity_names()
    for name in names:
        if name not in known:
            raise RequestError(
                f"no field of the data map holds the identity {name!r}",
                where="data map",
                fix=f"use one of: {', '.join(known)}" if known else "mark identity fields",
            )
    order = _order(graph, names)
    index = {tid: i for i, tid in enumerate(order)}
    conn = {TableId(ds.name, t.name): ds.connection for ds, t in datamap.tables()}
    steps: list[Step] = []
    cyclic = False
    for i, tid in enumerate(order):
        table = graph.tables[tid]
        lookups = [
            _identity_lookup(datamap, r)
            for r in graph.identity_refs
            if r.table_id == tid and r.name in names and not r.mention
        ]
        for edge in graph.edges:
            if edge.dst.table_id == tid and edge.src.table_id in index:
                lookups.append(Lookup(edge.dst.field, source=edge.src, kind=edge.kind))
                cyclic = cyclic or index[edge.src.table_id] >= i
        yields = tuple(
            dict.fromkeys(e.src.field for e in graph.edges_from(tid) if e.dst.table_id in index)
        )
        pk = tuple(table.primary_key())
        found = tuple(dict.fromkeys(lookups))
        cols = tuple(dict.fromkeys([*pk, *(lk.column for lk in found), *yields]))
        scope = tuple(sorted(table.scope.items()))
        sql = tuple(select_sql(tid.table, cols, lk.column, lk.form, scope) for lk in found)
        steps.append(
            Step(i, tid, conn[tid], found, pk, yields, holds_personal_data(table), sql, scope)
        )
    defaults = dict(masking_defaults or {})
    mentions = _mentions(datamap, graph, names, conn, defaults)
    actions = erase_actions(graph, steps, defaults) if kind == "erase" else ()
    scopes = sorted(
        {n for s in steps for n, _ in s.scope} | {n for m in mentions for n, _ in m.scope}
    )
    return Plan(
        kind,
        names,
        tuple(steps),
        cyclic,
        actions,
        tuple(dict.fromkeys([*(s.connection for s in steps), *(m.connection for m in mentions)])),
        mentions,
        tuple(scopes),
    )


def _identity_lookup(datamap: DataMap, ref: IdentityRef) -> Lookup:
    form = form_of(datamap.identity_spec(ref.name))
    return Lookup(
        ref.field.field,
        identity=ref.name,
        form=form,
        stored=ref.match.value == "stored",
        path=ref.path,
    )


def _mentions(
    datamap: DataMap,
    graph: Graph,
    names: Sequence[str],
    conn: Mapping[TableId, str],
    defaults: Mapping[str, str],
) -> tuple[Mention, ...]:
    out = []
    for ref in graph.identity_refs:
        if not ref.mention or ref.name not in names:
            continue
        table = graph.tables[ref.table_id]
        action = next(
            a
            for a in field_actions(table, defaults)
            if a.field == ref.field.field and a.path == ref.path
        )
        out.append(
            Mention(
                ref.table_id,
                conn[ref.table_id],
                ref.field.field,
                ref.path,
                ref.name,
                form_of(datamap.identity_spec(ref.name)),
                action.strategy or "hash",
                tuple(table.primary_key()),
                tuple(sorted(table.scope.items())),
            )
        )
    for ds, table in datamap.tables():  # identities written in free text, in anyone's rows
        tid = TableId(ds.name, table.name)
        for f in table.fields:
            if not f.free_text:
                continue
            for name in names:
                out.append(
                    Mention(
                        tid,
                        conn[tid],
                        f.name,
                        (),
                        name,
                        form_of(datamap.identity_spec(name)),
                        "redact",
                        tuple(table.primary_key()),
                        tuple(sorted(table.scope.items())),
                        text=True,
                    )
                )
    return tuple(out)


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


#: the names defined in the plan's part modules, re-exported: ``troth.dsr.plan`` is the one place
#: to import them from
__all__ = [
    "Hold",
    "Kept",
    "Lookup",
    "Mention",
    "Plan",
    "PlanKind",
    "Referrer",
    "Step",
    "TableAction",
    "build_plan",
    "hold_via",
]

"""How many people a breach affects, counted through the data map, in the database.

A breach names the tables (``dataset.table``) whose rows were exposed. The people are the rows of
the identity tables (the tables that hold a person's identity, such as ``customers``) that own
an exposed row along a walk of the map (``owns``, ``link`` and ``same_person`` references, as a
request walks them; ``refers`` is never followed, so a tenant or an employee does not count as
owning the rows they are linked to). Per identity table, troth sends one statement: the
``UNION`` of its key over every walk to every exposed table, counted; no row leaves the
database. People held in two identity tables (a customer who is also a subscriber) count once
in each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from troth.datamap.fanout import _all_paths
from troth.datamap.graph import Edge, Graph, TableId
from troth.datamap.model import DataMap
from troth.errors import ConfigError


@dataclass(frozen=True)
class Affected:
    """People per identity table (``dataset.table``) and the statement count."""

    people: dict[str, int]
    statements: int
    #: exposed rows per table (``dataset.table``)
    rows: dict[str, int]

    @property
    def total(self) -> int:
        """An upper bound: a person in two identity tables counts twice."""
        return sum(self.people.values())


def parse_tables(datamap: DataMap, names: Sequence[str]) -> list[TableId]:
    """``dataset.table`` names of the map; an unknown one is refused with the valid ones."""
    known = {f"{ds.name}.{t.name}": TableId(ds.name, t.name) for ds, t in datamap.tables()}
    out = []
    for name in names:
        if name not in known:
            raise ConfigError(
                f"no table {name!r} in the data map",
                where="--table",
                fix=f"use dataset.table, one of: {', '.join(sorted(known)[:20])}",
            )
        out.append(known[name])
    return out


def _key(graph: Graph, root: TableId) -> list[str]:
    table = graph.tables[root]
    pk = [f.name for f in table.fields if f.primary_key]
    if pk:
        return pk
    return sorted(f.field for f in graph.identities if f.table_id == root)


def _walk(graph: Graph, root: TableId, path: list[Edge], key: list[str]) -> Any:
    def alias(tid: TableId, i: int) -> Any:
        cols = [f.name for f in graph.tables[tid].fields]
        return sa.table(tid.table, *(sa.column(c) for c in cols)).alias(f"b{i}")

    first = alias(root, 0)
    frm: Any = first
    prev = first
    for i, edge in enumerate(path, start=1):
        nxt = alias(edge.dst.table_id, i)
        frm = frm.join(nxt, nxt.c[edge.dst.field] == prev.c[edge.src.field])
        prev = nxt
    return sa.select(*(first.c[k] for k in key)).select_from(frm)


def count_affected(
    datamap: DataMap, engines: Mapping[str, sa.Engine], tables: Sequence[TableId]
) -> Affected:
    """People who own a row of ``tables``, per identity table; ``engines`` by dataset name."""
    graph = Graph.build(datamap)
    exposed = set(tables)
    roots = sorted(graph.identity_tables())
    people: dict[str, int] = {}
    statements = 0
    for root in roots:
        if root.dataset not in engines:
            continue
        key = _key(graph, root)
        if not key:
            continue
        walks = _all_paths(graph, root)
        selects = [_walk(graph, root, [], key)] if root in exposed else []
        for target in sorted(exposed):
            if target != root and target.dataset == root.dataset:
                selects += [_walk(graph, root, p, key) for p in walks.get(target, [])]
        if not selects:
            continue
        union = (
            sa.union(*selects).subquery() if len(selects) > 1 else selects[0].distinct().subquery()
        )
        stmt = sa.select(sa.func.count()).select_from(union)
        with engines[root.dataset].connect() as conn:
            people[str(root)] = int(conn.execute(stmt).scalar_one())
        statements += 1
    rows: dict[str, int] = {}
    for target in sorted(exposed):
        if target.dataset in engines:
            stmt = sa.select(sa.func.count()).select_from(sa.table(target.table))
            with engines[target.dataset].connect() as conn:
                rows[str(target)] = int(conn.execute(stmt).scalar_one())
            statements += 1
    return Affected(people, statements, rows)

"""Live checks of the walks requests take (``troth check --live``, ``troth datamap check --live``).

A map can be valid and still let one person's request reach other people: a reference marked
``owns`` from the employees' table to the customers they look after, or ``same_person`` up into a
tenant. These checks measure it on the live data, set-based (one ``GROUP BY`` query per walk):

``map.walk-fan-out``     along the walk from an identity to another table that holds the same
                         identity, the rows reached whose identity is not the person's (other
                         people): more than ``max_other`` (0) is an error naming the path;
``map.walk-hub``         a table the walk reaches where one row is reached from several people's
                         identity values: a hub (a tenant, a shared group) is not one person's;
``map.identity-stored``  an identity column marked ``match: stored`` holds values that are not in
                         normal form: a request would miss those rows.

Only walks within one store are measured (a join cannot cross stores); values never leave the
database: the checks read counts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from troth.connectors.match import MatchSql, form_sql
from troth.datamap.checks import map_issue
from troth.datamap.graph import Edge, Graph, IdentityRef, TableId
from troth.datamap.loader import DataMapDocument
from troth.datamap.model import Match
from troth.datamap.normalise import form_of
from troth.policy.checks.base import Issue

_FIX = (
    "mark the reference that starts the walk to other people `kind: refers` (tenants, employees, "
    "shared groups are referred to, never owned), or scope the identity"
)


def walk_issues(
    dm: DataMapDocument, engines: Mapping[str, sa.Engine], *, max_other: int = 0
) -> Iterator[tuple[str, Issue]]:
    """``(check id, issue)`` for every walk that reaches other people or a hub, live."""
    graph = Graph.build(dm.datamap)
    for root in graph.identity_refs:
        if root.mention or root.path:
            continue
        engine = engines.get(root.field.dataset)
        if engine is None:
            continue
        form = form_of(dm.datamap.identity_spec(root.name))
        for target, path in _walks(graph, root.table_id):
            same = [
                r
                for r in graph.identity_refs
                if r.table_id == target and r.name == root.name and not r.path
            ]
            if same:
                n = _other_people(graph, engine, root, path, same[0], form)
                if n > max_other:
                    yield (
                        "map.walk-fan-out",
                        _issue(
                            dm,
                            path,
                            f"one {root.name} value reaches up to {n} row(s) of other people in "
                            f"{target} (their {root.name} is not the person's), along "
                            f"{_describe(path)}",
                        ),
                    )
            pk = graph.tables[target].primary_key()
            if pk:
                c = _shared_rows(graph, engine, root, path, pk, form)
                if c > 1:
                    yield (
                        "map.walk-hub",
                        _issue(
                            dm,
                            path,
                            f"a row of {target} is reached from up to {c} different {root.name} "
                            f"values along {_describe(path)}: it is not one person's (a hub)",
                        ),
                    )
        yield from _crossing_walks(dm, graph, engine, root, form)


def _crossing_walks(
    dm: DataMapDocument, graph: Graph, engine: sa.Engine, root: IdentityRef, form: str
) -> Iterator[tuple[str, Issue]]:
    """A table reached along several walks (licences through the customer and through the
    order item) whose walks disagree on whose a row is: the data gives the row two people."""
    for target, paths in _all_paths(graph, root.table_id).items():
        pk = graph.tables[target].primary_key()
        if len(paths) < 2 or not pk:
            continue
        dialect = engine.dialect.name
        parts = []
        for path in paths:
            frm, aliases = _join(graph, root, path)
            mine = MatchSql(dialect).exact(
                form_sql(_col(aliases[0], root.field.field), form, dialect)
            )
            keys = [_col(aliases[-1], c).label(f"k{i}") for i, c in enumerate(pk)]
            parts.append(
                sa.select(*keys, mine.label("v")).select_from(frm).where(mine.is_not(None))
            )
        every = sa.union(*parts).subquery("every_walk")
        inner = (
            sa.select(sa.func.count(sa.distinct(every.c.v)).label("c"))
            .group_by(*(every.c[f"k{i}"] for i in range(len(pk))))
            .subquery()
        )
        with engine.connect() as c:
            most = int(
                c.execute(sa.select(sa.func.coalesce(sa.func.max(inner.c.c), 0))).scalar_one()
            )
        if most > 1:
            yield (
                "map.walk-hub",
                _issue(
                    dm,
                    paths[1],
                    f"a row of {target} is reached from up to {most} different {root.name} "
                    f"values along different walks ({' | '.join(_describe(p) for p in paths)}): "
                    "the data gives it to several people",
                ),
            )


def _all_paths(
    graph: Graph, root: TableId, *, depth: int = 4, most: int = 8
) -> dict[TableId, list[list[Edge]]]:
    """Every simple walk (no table twice) from ``root`` within its dataset, up to ``depth``
    steps and ``most`` walks per table."""
    out: dict[TableId, list[list[Edge]]] = {}

    def visit(here: TableId, path: list[Edge], seen: frozenset[TableId]) -> None:
        if len(path) >= depth:
            return
        for edge in graph.edges_from(here):
            there = edge.dst.table_id
            if there.dataset != root.dataset or there in seen:
                continue
            walks = out.setdefault(there, [])
            if len(walks) < most:
                walks.append([*path, edge])
            visit(there, [*path, edge], seen | {there})

    visit(root, [], frozenset({root}))
    return out


def stored_identity_issues(
    dm: DataMapDocument, engines: Mapping[str, sa.Engine]
) -> Iterator[tuple[str, Issue]]:
    for ds, table, f in dm.datamap.fields():
        if not f.identity or f.match is not Match.stored or ds.name not in engines:
            continue
        engine = engines[ds.name]
        form = form_of(dm.datamap.identity_spec(f.identity))
        t = sa.table(table.name, sa.column(f.name))
        col = t.c[f.name]
        exact = MatchSql(engine.dialect.name).exact
        normal = exact(form_sql(col, form, engine.dialect.name))
        stmt = (
            sa.select(sa.func.count()).select_from(t).where(col.is_not(None), exact(col) != normal)
        )
        with engine.connect() as c:
            n = int(c.execute(stmt).scalar_one())
        if n:
            yield (
                "map.identity-stored",
                map_issue(
                    dm,
                    f,
                    f"{ds.name}.{table.name}.{f.name} is marked `match: stored` but {n} of its "
                    "values are not in normal form: a request would miss those rows",
                    field="match",
                    fix="normalise the stored values, or remove `match: stored` (troth then "
                    "compares the column's normal form; an index on lower(trim(column)) keeps it "
                    "fast)",
                ),
            )


def _paths(graph: Graph, root: TableId) -> dict[TableId, list[Edge]]:
    """The shortest walk from ``root`` to every table it reaches within its dataset."""
    paths: dict[TableId, list[Edge]] = {root: []}
    queue = deque([root])
    while queue:
        here = queue.popleft()
        for edge in graph.edges_from(here):
            there = edge.dst.table_id
            if there.dataset != root.dataset or there in paths:
                continue
            paths[there] = [*paths[here], edge]
            queue.append(there)
    return paths


def _walks(graph: Graph, root: TableId) -> list[tuple[TableId, list[Edge]]]:
    """Every table reached (with its shortest walk), and the walks that lead back to the root's
    own table (a cycle through a tenant reaches the root's other rows)."""
    paths = _paths(graph, root)
    out = [(t, p) for t, p in paths.items() if p]
    for here, path in paths.items():
        for edge in graph.edges_from(here):
            if edge.dst.table_id == root and (here != root or edge.src != edge.dst):
                out.append((root, [*path, edge]))
    return out


def _join(graph: Graph, root: IdentityRef, path: list[Edge]) -> tuple[Any, list[Any]]:
    """The FROM clause of the walk, and the alias of each table along it (root first)."""

    def alias(tid: TableId, i: int) -> Any:
        cols = [f.name for f in graph.tables[tid].fields]
        return sa.table(tid.table, *(sa.column(c) for c in cols)).alias(f"w{i}")

    first = alias(root.table_id, 0)
    aliases: list[Any] = [first]
    frm: Any = first
    for i, e in enumerate(path, start=1):
        src = aliases[-1]
        dst = alias(e.dst.table_id, i)
        frm = frm.join(dst, dst.c[e.dst.field] == src.c[e.src.field])
        aliases.append(dst)
    return frm, aliases


def _col(alias: Any, name: str) -> Any:
    return alias.c[name]


def _other_people(
    graph: Graph,
    engine: sa.Engine,
    root: IdentityRef,
    path: list[Edge],
    target: IdentityRef,
    form: str,
) -> int:
    frm, aliases = _join(graph, root, path)
    dialect = engine.dialect.name
    exact = MatchSql(dialect).exact  # byte for byte: a collation must not merge two people
    mine = exact(form_sql(_col(aliases[0], root.field.field), form, dialect))
    theirs = exact(form_sql(_col(aliases[-1], target.field.field), form, dialect))
    inner = (
        sa.select(mine.label("v"), sa.func.count().label("n"))
        .select_from(frm)
        .where(theirs.is_not(None), theirs != mine)
        .group_by(mine)
        .subquery()
    )
    with engine.connect() as c:
        most = sa.select(sa.func.coalesce(sa.func.max(inner.c.n), 0))
        return int(c.execute(most).scalar_one())


def _shared_rows(
    graph: Graph, engine: sa.Engine, root: IdentityRef, path: list[Edge], pk: list[str], form: str
) -> int:
    frm, aliases = _join(graph, root, path)
    dialect = engine.dialect.name
    mine = MatchSql(dialect).exact(form_sql(_col(aliases[0], root.field.field), form, dialect))
    keys = [_col(aliases[-1], c) for c in pk]
    inner = (
        sa.select(sa.func.count(sa.distinct(mine)).label("c"))
        .select_from(frm)
        .where(mine.is_not(None))
        .group_by(*keys)
        .subquery()
    )
    with engine.connect() as c:
        most = sa.select(sa.func.coalesce(sa.func.max(inner.c.c), 0))
        return int(c.execute(most).scalar_one())


def _describe(path: list[Edge]) -> str:
    return " -> ".join(f"{e.src} => {e.dst} ({e.kind.value})" for e in path)


def _issue(dm: DataMapDocument, path: list[Edge], message: str) -> Issue:
    """Located at the reference that the walk's first step follows."""
    first = path[0]
    for here, there in ((first.dst, first.src), (first.src, first.dst)):
        fld = dm.datamap.resolve(here.dataset, here.table, here.field)
        for ref in fld.references if fld is not None else []:
            if ref.target(here.dataset) == (there.dataset, there.table, there.field):
                return map_issue(dm, ref, message, field="kind", fix=_FIX)
    table = dm.datamap.resolve(first.dst.dataset, first.dst.table)
    return map_issue(dm, table, message, field="name", fix=_FIX)

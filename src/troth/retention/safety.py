"""Foreign-key safety: which rows point at a row, which of them stay, and the order of deletes.

The rows that point at a table's rows (its *referrers*) are taken from the live schema's foreign
keys and from the data map's references of every kind (``owns``, ``link``, ``same_person`` and
``refers``), self-references included. A delete rule deletes a due row only when no referencing
row *stays*; a row that stays (not due, held, or no rule deletes it) keeps the row it points at,
which is anonymised instead. "Stays" is computed, not observed: the referencing table's own delete
predicate is composed into the parent's (``EXISTS (SELECT 1 FROM invoices i WHERE i.order_id =
orders.id AND NOT <invoices' delete predicate on i>)``), so ``troth retention plan`` counts what the
run will do before the children are deleted, and the run (children first) does exactly that.

A self-reference (``tickets.merged_into -> tickets.id``) is one recursive CTE: the rows that stay,
and every row one of them points at, directly or through a chain, stay. Deletes in such a table go
leaves first (MariaDB checks a foreign key row by row inside one statement). Tables that reference
each other in a cycle with delete rules on all of them cannot be ordered: the plan refuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from troth.connectors.base import SchemaInfo
from troth.datamap.graph import Graph, Link
from troth.errors import RetentionError
from troth.policy.model import RetentionAction
from troth.retention.bind import Binding
from troth.retention.query import BindingSql


@dataclass(frozen=True)
class Referrer:
    """Rows of ``child`` whose ``columns`` hold the ``parent_columns`` of a ``parent`` row."""

    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    sources: tuple[str, ...]  # "schema" (a foreign key), "map owns", "map refers"...

    def describe(self) -> str:
        cols = ", ".join(self.columns)
        return f"{self.child}.{cols} ({', '.join(self.sources)})"


def referrers(
    graph: Graph, dataset: str, schema: SchemaInfo | None = None
) -> dict[str, list[Referrer]]:
    """Per referenced table of ``dataset``: the map's references and the schema's foreign keys."""
    found: dict[tuple[str, tuple[str, ...], str, tuple[str, ...]], list[str]] = {}
    k: tuple[str, tuple[str, ...], str, tuple[str, ...]]
    for lk in graph.links:
        if lk.child.dataset == dataset and lk.parent.dataset == dataset:
            k = (lk.child.table, (lk.child.field,), lk.parent.table, (lk.parent.field,))
            found.setdefault(k, []).append(f"map {lk.kind.value}")
    for table in schema.tables if schema else ():
        for fk in table.foreign_keys:
            k = (table.name, tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns))
            found.setdefault(k, []).insert(0, "schema")
    out: dict[str, list[Referrer]] = {}
    for (child, cols, parent, pcols), sources in found.items():
        out.setdefault(parent, []).append(
            Referrer(child, cols, parent, pcols, tuple(dict.fromkeys(sources)))
        )
    return out


def other_store_referrers(graph: Graph, dataset: str, table: str) -> list[Link]:
    """References into ``dataset.table`` from another dataset: no SQL of this store sees them."""
    return [
        lk
        for lk in graph.links
        if lk.parent.dataset == dataset and lk.parent.table == table and lk.child.dataset != dataset
    ]


def _is_delete(q: BindingSql | Binding) -> bool:
    b = q.b if isinstance(q, BindingSql) else q
    return b.action is RetentionAction.delete


T = TypeVar("T", BindingSql, Binding)


def run_order(items: Sequence[T], refs: Mapping[str, Sequence[Referrer]]) -> list[T]:
    """Bindings in the order a run takes them: a table whose rows a delete rule removes comes
    after every table that references it and has delete rules too (children first); within a
    table, delete rules first. A cycle of such tables is refused."""
    by_table: dict[str, list[T]] = {}
    for q in items:
        by_table.setdefault((q.b if isinstance(q, BindingSql) else q).table, []).append(q)
    deleting = {t for t, qs in by_table.items() if any(_is_delete(q) for q in qs)}
    after: dict[str, set[str]] = {t: set() for t in by_table}
    for parent in deleting:
        for ref in refs.get(parent, ()):
            if ref.child != parent and ref.child in deleting:
                after[parent].add(ref.child)
    out: list[T] = []
    pending = list(by_table)
    while pending:
        ready = [t for t in pending if not (after[t] & set(pending))]
        if not ready:
            raise _cycle_error(pending, refs)
        for t in ready:
            qs = by_table[t]
            out += [q for q in qs if _is_delete(q)] + [q for q in qs if not _is_delete(q)]
        pending = [t for t in pending if t not in ready]
    return out


def _cycle_error(tables: Sequence[str], refs: Mapping[str, Sequence[Referrer]]) -> RetentionError:
    edges = sorted(
        f"{r.child}.{', '.join(r.columns)} -> {p}"
        for p in tables
        for r in refs.get(p, ())
        if r.child in tables and r.child != p
    )
    return RetentionError(
        f"tables {', '.join(sorted(tables))} reference each other in a cycle "
        f"({'; '.join(edges)}) and delete rules cover each of them, so no order of deletes keeps "
        "every reference intact",
        where=f"tables {', '.join(sorted(tables))}",
        fix="let one of the rules anonymise instead of delete (`action: anonymise`), or narrow "
        "a rule with a row condition (`retention: [{where: ...}]` in the map)",
    )


class DeleteGraph:
    """The bindings of one store in run order, and the referrers of its tables."""

    def __init__(self, sqls: Sequence[BindingSql], refs: Mapping[str, Sequence[Referrer]]) -> None:
        self.refs = refs
        # SQLite's parser has a small stack: recursive CTEs go to the top of the statement
        # (once each); MariaDB/MySQL take no WITH before DELETE/UPDATE: they nest them
        self.nest = bool(sqls) and sqls[0].dialect == "mysql"
        self._cache: dict[tuple[str, str], sa.CTE] = {}
        self.order = run_order(sqls, refs)
        self.by_table: dict[str, list[BindingSql]] = {}
        for q in self.order:
            self.by_table.setdefault(q.b.table, []).append(q)
            q.graph = self
        self._names = itertools.count(1)

    def _alias(self, table: str) -> sa.FromClause:
        q = self.by_table.get(table, self.order[:1])[0]
        return q.alias(table)

    def deletes(self, table: str) -> list[BindingSql]:
        return [q for q in self.by_table.get(table, []) if _is_delete(q)]

    def self_refs(self, table: str) -> list[Referrer]:
        return [r for r in self.refs.get(table, ()) if r.child == table]

    def external(self, table: str) -> list[Referrer]:
        return [r for r in self.refs.get(table, ()) if r.child != table]

    # --- composition ------------------------------------------------------------------------

    def stays_referenced(self, table: str, row: sa.FromClause) -> sa.ColumnElement[bool] | None:
        """A row that stays points at ``row``, directly or through a chain of references (None:
        nothing can point at the table's rows)."""
        terms = self._external(table, row)
        if self.self_refs(table):
            terms.append(self._stays_self(table, row))
        return sa.or_(*terms) if terms else None

    def _external(self, table: str, row: sa.FromClause) -> list[sa.ColumnElement[bool]]:
        """One flat ``EXISTS`` per chain of referencing tables below ``table`` (self-references
        aside) that ends at a row which stays: its table has no delete rule, or no delete rule
        would remove it, or a self-reference keeps it. A row whose chain ends at rows that all
        go is removed with them: the chain's intermediate rows need no test of their own."""
        out: list[sa.ColumnElement[bool]] = []

        def visit(path: list[Referrer], here: str, seen: tuple[str, ...]) -> None:
            for ref in self.external(here):
                chain = [*path, ref]
                if not self.deletes(ref.child):
                    out.append(self._exists(row, chain, None))
                    continue
                if ref.child in seen:
                    raise _cycle_error([*seen[seen.index(ref.child) :]], self.refs)
                out.append(self._exists(row, chain, lambda x, t=ref.child: self._kept_by_own(t, x)))
                visit(chain, ref.child, (*seen, ref.child))

        visit([], table, (table,))
        return out

    def _kept_by_own(self, table: str, x: sa.FromClause) -> sa.ColumnElement[bool]:
        """``x`` stays for a reason of its own table: no delete rule removes it, or a row of
        its table that stays points at it."""
        own = sa.not_(sa.or_(*(q.candidate(x) for q in self.deletes(table))))
        if self.self_refs(table):
            return sa.or_(own, self._stays_self(table, x))
        return own

    def _exists(
        self, row: sa.FromClause, chain: list[Referrer], last: Any
    ) -> sa.ColumnElement[bool]:
        """``EXISTS`` rows along ``chain`` (each step's rows point at the previous step's)
        starting at ``row``, the last one satisfying ``last(alias)``."""
        aliases = [self._alias(r.child) for r in chain]
        path: sa.FromClause = aliases[0]
        for i in range(1, len(chain)):
            r, a, up = chain[i], aliases[i], aliases[i - 1]
            on = [a.c[c] == up.c[p] for c, p in zip(r.columns, r.parent_columns, strict=True)]
            path = path.join(a, sa.and_(*on))
        first = chain[0]
        where = [
            aliases[0].c[c] == row.c[p]
            for c, p in zip(first.columns, first.parent_columns, strict=True)
        ]
        if last is not None:
            where.append(last(aliases[-1]))
        sel = sa.select(sa.literal(1)).select_from(path).where(*where)
        return sa.exists(sel.correlate_except(*aliases))

    def _stays_self(self, table: str, row: sa.FromClause) -> sa.ColumnElement[bool]:
        refs = self.self_refs(table)
        pcols = refs[0].parent_columns
        if any(r.parent_columns != pcols for r in refs):
            raise RetentionError(
                f"table {table} references itself through columns that point at different "
                f"columns ({'; '.join(r.describe() for r in refs)})",
                where=f"table {table}",
                fix="retention sweeps such a table only when its self-references point at the "
                "same key: anonymise instead of delete (`action: anonymise`)",
            )
        kept = self._cached("kept", table, lambda: self._kept(table, refs))
        cols = [kept.c[f"v{i}"] for i in range(len(pcols))]
        if len(pcols) == 1:
            return row.c[pcols[0]].in_(sa.select(cols[0]))
        return sa.tuple_(*(row.c[p] for p in pcols)).in_(sa.select(*cols))

    def _parents(
        self, y: sa.FromClause, refs: list[Referrer]
    ) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
        """The values a row of ``y`` points at: one row per self-reference (a CASE over a small
        numbers table when there are several)."""
        if len(refs) == 1:
            return y, [y.c[c] for c in refs[0].columns]
        k = sa.union_all(*(sa.select(sa.literal(j).label("i")) for j in range(len(refs))))
        ks = k.subquery()
        up: list[sa.ColumnElement[Any]] = [
            sa.case(*((ks.c.i == j, y.c[r.columns[i]]) for j, r in enumerate(refs)))
            for i in range(len(refs[0].columns))
        ]
        return y.join(ks, sa.true()), up

    def _removed(self, table: str, x: sa.FromClause) -> Any:
        """A delete rule would remove ``x`` unless a row of its own table points at it."""
        cand = sa.or_(*(q.candidate(x) for q in self.deletes(table)))
        ext = self._external(table, x)
        return sa.and_(cand, sa.not_(sa.or_(*ext))) if ext else cand

    def _cached(self, kind: str, table: str, build: Callable[[], sa.CTE]) -> sa.CTE:
        """One CTE per table and statement when they go to the top of the statement."""
        if self.nest:
            return build()
        if (kind, table) not in self._cache:
            self._cache[(kind, table)] = build()
        return self._cache[(kind, table)]

    def _kept(self, table: str, refs: list[Referrer]) -> sa.CTE:
        """``WITH RECURSIVE kept``: the keys of rows that must stay because a row that stays
        points at them, directly or through a chain. Rows on a cycle of references (a ticket
        merged into itself, or into one merged back) stay too: no engine deletes them without
        breaking a reference first (MariaDB checks each row)."""
        pcols = refs[0].parent_columns
        n = len(pcols)
        x = self._alias(table)
        frm, up = self._parents(x, refs)
        cyc = self._cycles(table, refs)
        on_cycle = (
            x.c[pcols[0]].in_(cyc) if n == 1 else sa.tuple_(*(x.c[p] for p in pcols)).in_(cyc)
        )
        base = sa.select(*(c.label(f"v{i}") for i, c in enumerate(up))).select_from(frm)
        base = base.where(
            *(c.is_not(None) for c in up),
            sa.or_(sa.not_(self._removed(table, x)), on_cycle),
        )
        kept = base.cte(f"kept_{next(self._names)}", recursive=True, nesting=self.nest)
        y = self._alias(table)
        frm, up = self._parents(y, refs)
        on = sa.and_(*(y.c[p] == kept.c[f"v{i}"] for i, p in enumerate(pcols)))
        step = sa.select(*up).select_from(frm.join(kept, on)).where(*(c.is_not(None) for c in up))
        out: sa.CTE = kept.union(step)
        assert n == len(up)
        return out

    def _cycles(self, table: str, refs: list[Referrer]) -> sa.Select[Any]:
        """The keys of due, unheld rows that reach themselves following their references (the
        others stay anyway)."""
        pcols = refs[0].parent_columns
        n = len(pcols)
        x = self._alias(table)
        frm, up = self._parents(x, refs)
        seed = sa.select(
            *(x.c[p].label(f"s{i}") for i, p in enumerate(pcols)),
            *(c.label(f"c{i}") for i, c in enumerate(up)),
        ).select_from(frm)
        cand = sa.or_(*(q.candidate(x) for q in self.deletes(table)))
        seed = seed.where(*(c.is_not(None) for c in up), cand)
        walk = seed.cte(f"walk_{next(self._names)}", recursive=True, nesting=self.nest)
        y = self._alias(table)
        frm, up = self._parents(y, refs)
        on = sa.and_(*(y.c[p] == walk.c[f"c{i}"] for i, p in enumerate(pcols)))
        back = sa.and_(*(walk.c[f"c{i}"] == walk.c[f"s{i}"] for i in range(n)))
        step = (
            sa.select(*(walk.c[f"s{i}"] for i in range(n)), *up)
            .select_from(frm.join(walk, on))
            .where(*(c.is_not(None) for c in up), sa.not_(back))
        )
        walk = walk.union(step)
        done = sa.and_(*(walk.c[f"c{i}"] == walk.c[f"s{i}"] for i in range(n)))
        return sa.select(*(walk.c[f"s{i}"] for i in range(n))).where(done)

    def leaf(self, table: str, row: sa.FromClause) -> sa.ColumnElement[bool] | None:
        """No row of the table points at ``row`` now (deletes in a self-referencing table)."""
        terms = []
        for ref in self.self_refs(table):
            y = self._alias(table)
            on = [y.c[c] == row.c[p] for c, p in zip(ref.columns, ref.parent_columns, strict=True)]
            sel = sa.select(sa.literal(1)).select_from(y).where(*on).correlate_except(y)
            terms.append(sa.not_(sa.exists(sel)))
        return sa.and_(*terms) if terms else None

    def gone_before(self, q: BindingSql, row: sa.FromClause) -> sa.ColumnElement[bool] | None:
        """An earlier delete rule of the same table removes ``row`` before ``q`` runs."""
        earlier = []
        for other in self.by_table.get(q.b.table, []):
            if other is q:
                break
            pred = other.delete_predicate(row)
            if pred is not None:
                earlier.append(pred)
        return sa.or_(*earlier) if earlier else None

"""The statements of a sweep: one count per binding, then batches, for every key shape.

- a one-column key (or SQLite's ``rowid``): keyset batches in key order within the due key range
  ``[lo, hi]`` read by the count (the last batch does not scan the rest of the table);
- a composite key: keyset batches on the key tuple (``(a, b) > (:last_0, :last_1)``);
- no key on PostgreSQL: ``ctid`` within one statement per batch (``DELETE ... WHERE ctid =
  ANY(ARRAY(SELECT ctid ... LIMIT n)) AND <predicate>``); no key on MariaDB/MySQL:
  ``DELETE/UPDATE ... WHERE <predicate> LIMIT n``; both repeated until a batch comes back short.

On PostgreSQL a keyed batch is one statement too (``WITH batch AS (SELECT key ... LIMIT n), done
AS (DELETE ... WHERE key IN (SELECT key FROM batch) AND <predicate> RETURNING key) SELECT ...``);
on SQLite and MariaDB it is a ``SELECT`` of the keys and a write by those keys. The predicate is
always checked again by the write. Deletes in a self-referencing table go leaves first, in rounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from troth.connectors.sql import SqlConnector
from troth.retention.query import BindingSql, HoldRef


@dataclass(frozen=True)
class Counts:
    """Rows to delete, to anonymise and held; rows kept per hold; the due key range."""

    delete: int
    anonymise: int
    held: int
    kept: tuple[tuple[HoldRef, int], ...] = ()
    lo: Any = None
    hi: Any = None


def _ranged(q: BindingSql) -> bool:
    """A key of one column: the count reads the due range, the keyset stops at its end."""
    return len(q.shape.columns) == 1 and q.shape.kind in ("key", "rowid")


def count_statement(q: BindingSql) -> sa.Select[Any]:
    """One statement: rows to delete, to anonymise, held, kept per hold, and the due key range."""

    def total(pred: sa.ColumnElement[bool] | None, label: str) -> sa.ColumnElement[Any]:
        if pred is None:
            return sa.literal(0).label(label)
        return sa.func.coalesce(sa.func.sum(sa.case((pred, 1), else_=0)), 0).label(label)

    due = q.due(q.t)
    cols = [
        total(q.delete_predicate(), "delete"),
        total(q.anonymise_predicate(), "anonymise"),
        total(q.held_predicate(), "held"),
        *(total(cond, f"kept_{i}") for i, (_, cond) in enumerate(q.kept_terms())),
    ]
    if _ranged(q):
        key = q.t.c[q.shape.columns[0]]
        cols += [
            sa.func.min(sa.case((due, key))).label("lo"),
            sa.func.max(sa.case((due, key))).label("hi"),
        ]
    stmt = sa.select(*cols).select_from(q.t)
    if not q.b.timestamp.joins:
        # every outcome needs a due row: filter first (an index on the timestamp helps)
        stmt = stmt.where(due)
    return stmt


def measure(q: BindingSql, conn: SqlConnector) -> Counts:
    with conn._mapped("count expired rows", q.b.table), conn.engine.connect() as c:
        row = c.execute(count_statement(q)).one()
    m = row._mapping
    terms = q.kept_terms()
    kept = tuple((ref, int(m[f"kept_{i}"] or 0)) for i, (ref, _) in enumerate(terms))
    lo, hi = (m["lo"], m["hi"]) if _ranged(q) else (None, None)
    return Counts(
        int(m["delete"] or 0), int(m["anonymise"] or 0), int(m["held"] or 0), kept, lo, hi
    )


@dataclass
class Progress:
    """What a phase did so far (the sweeper turns it into evidence)."""

    written: int = 0
    batches: int = 0
    longest_batch_ms: float = 0.0
    on_batch: Callable[[int, float], None] | None = field(default=None, repr=False)

    def batch(self, n: int, ms: float) -> None:
        self.written += n
        self.batches += 1
        self.longest_batch_ms = max(self.longest_batch_ms, ms)
        if self.on_batch:
            self.on_batch(n, ms)


class Phase:
    """Delete (or anonymise) the rows of ``pred`` in batches."""

    def __init__(
        self, q: BindingSql, pred: sa.ColumnElement[bool], *, delete: bool, batch_size: int
    ) -> None:
        self.q = q
        self.delete = delete
        self.n = batch_size
        self.rounds = False
        if delete and q.graph is not None:
            leaf = q.graph.leaf(q.b.table, q.t)
            if leaf is not None:  # a self-referencing table: leaves first, round after round
                pred = sa.and_(pred, leaf)
                self.rounds = True
        self.pred = pred
        self.t = q.t
        self.keys = [self.t.c[c] for c in q.shape.columns]

    # --- statements -------------------------------------------------------------------------

    def _dml(self, where: sa.ColumnElement[bool]) -> sa.Delete | sa.Update:
        if self.delete:
            return sa.delete(self.t).where(where)
        return sa.update(self.t).where(where).values(self.q.changes())

    def _after(self, after: bool) -> list[sa.ColumnElement[bool]]:
        """The keyset condition: ``key >= :last`` first (the lowest due key), then ``> :last``;
        ``<= :hi`` stops at the highest due key. A composite key starts unbounded."""
        if _ranged(self.q):
            key = self.keys[0]
            last: sa.BindParameter[Any] = sa.bindparam("last")
            return [key > last if after else key >= last, key <= sa.bindparam("hi")]
        if not after:
            return []
        lasts: list[sa.BindParameter[Any]] = [
            sa.bindparam(f"last_{i}") for i in range(len(self.keys))
        ]
        return [sa.tuple_(*self.keys) > sa.tuple_(*lasts)]

    def select(self, *, after: bool) -> sa.Select[Any]:
        """Keys of the next batch, in key order."""
        where = sa.and_(*self._after(after), self.pred)
        return sa.select(*self.keys).where(where).order_by(*self.keys).limit(self.n)

    def write_by_keys(self) -> sa.Delete | sa.Update:
        keys: sa.BindParameter[Any] = sa.bindparam("keys", expanding=True)
        match = self.keys[0].in_(keys) if len(self.keys) == 1 else sa.tuple_(*self.keys).in_(keys)
        return self._dml(sa.and_(match, self.pred))

    def one_statement(self, *, after: bool) -> sa.Select[Any]:
        """PostgreSQL: select the keys, write them, report the batch, in one statement."""
        if self.q.shape.kind == "ctid":
            batch = sa.select(self.t.c.ctid).where(self.pred).limit(self.n).cte("batch")
            rows = sa.func.array(sa.select(batch.c.ctid).scalar_subquery())
            done = self._dml(sa.and_(self.t.c.ctid == sa.any_(rows), self.pred))
            done_cte = done.returning(sa.literal(1).label("one")).cte("done")
            return sa.select(
                sa.select(sa.func.count()).select_from(batch).scalar_subquery().label("selected"),
                sa.select(sa.func.count()).select_from(done_cte).scalar_subquery().label("written"),
            )
        keys = self.select(after=after).cte("batch")
        bk = [keys.c[c] for c in self.q.shape.columns]
        target = (
            self.keys[0].in_(sa.select(bk[0]))
            if len(bk) == 1
            else sa.tuple_(*self.keys).in_(sa.select(*bk))
        )
        done_cte = self._dml(sa.and_(target, self.pred)).returning(self.keys[0]).cte("done")
        if len(bk) == 1:
            lasts = [sa.select(sa.func.max(bk[0])).scalar_subquery().label("last_0")]
        else:
            desc = [c.desc() for c in bk]
            lasts = [
                sa.select(c).order_by(*desc).limit(1).scalar_subquery().label(f"last_{i}")
                for i, c in enumerate(bk)
            ]
        return sa.select(
            *lasts,
            sa.select(sa.func.count()).select_from(keys).scalar_subquery().label("selected"),
            sa.select(sa.func.count()).select_from(done_cte).scalar_subquery().label("written"),
        )

    def limited(self) -> sa.Delete | sa.Update:
        """MariaDB/MySQL without a key: ``DELETE/UPDATE ... WHERE <predicate> LIMIT n``."""
        return self._dml(self.pred).with_dialect_options(mysql_limit=self.n)

    def statements(self) -> dict[str, sa.ClauseElement]:
        """The statements one batch sends (for the plan's output)."""
        kind = self.q.shape.kind
        if self.q.dialect == "postgresql":
            return {"batch": self.one_statement(after=True)}
        if kind == "none":
            return {"batch": self.limited()}
        return {"select_batch": self.select(after=True), "batch": self.write_by_keys()}

    # --- running ----------------------------------------------------------------------------

    def run(self, conn: SqlConnector, counts: Counts, progress: Progress) -> None:
        while True:
            before = progress.written
            self._round(conn, counts, progress)
            if not self.rounds or progress.written == before:
                return

    def _round(self, conn: SqlConnector, counts: Counts, progress: Progress) -> None:
        pg = self.q.dialect == "postgresql"
        kind = self.q.shape.kind
        if _ranged(self.q) and counts.lo is None:
            return
        steps: Any = (
            [self.one_statement(after=a) for a in (False, True)]
            if pg
            else [self.select(after=a) for a in (False, True)]
        )
        write = self.write_by_keys() if not pg and kind != "none" else None
        lasts: dict[str, Any] = {"last": counts.lo, "hi": counts.hi} if _ranged(self.q) else {}
        after = False
        while True:
            t0 = time.perf_counter()
            what = "delete expired rows" if self.delete else "anonymise expired rows"
            with conn._mapped(what, self.q.b.table), conn.engine.begin() as c:
                if kind == "none":
                    n = int(c.execute(self.limited()).rowcount)
                    selected = n
                elif pg:
                    m = c.execute(steps[after], lasts).one()._mapping
                    selected, n = int(m["selected"]), int(m["written"])
                    if kind != "ctid":
                        lasts = self._lasts([m[f"last_{i}"] for i in range(len(self.keys))], lasts)
                else:
                    keys = [tuple(r) for r in c.execute(steps[after], lasts)]
                    selected, n = len(keys), 0
                    if keys:
                        lasts = self._lasts(list(keys[-1]), lasts)
                        bound = [k[0] for k in keys] if len(self.keys) == 1 else keys
                        assert write is not None
                        n = int(c.execute(write, {"keys": bound}).rowcount)
                        if n < 0:  # sqlite3 reports no rowcount for WITH ... DELETE/UPDATE
                            n = int(c.execute(sa.select(sa.func.changes())).scalar_one())
            if not selected:
                return
            progress.batch(n, (time.perf_counter() - t0) * 1000)
            after = True
            if selected < self.n:
                return
            if _ranged(self.q) and lasts["last"] == counts.hi:
                return
            if kind in ("none", "ctid") and n == 0:
                return  # no key to move on by: a batch that changes nothing ends the phase

    def _lasts(self, values: list[Any], lasts: dict[str, Any]) -> dict[str, Any]:
        if _ranged(self.q):
            return {**lasts, "last": values[0]}
        return {f"last_{i}": v for i, v in enumerate(values)}


def sql_text(stmt: sa.ClauseElement, dialect: sa.Dialect) -> str:
    """The statement as the engine would receive it: placeholders, never values."""
    return " ".join(str(stmt.compile(dialect=dialect)).split())

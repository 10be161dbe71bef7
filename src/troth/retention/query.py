"""The SQL of one binding: which rows are expired, which are held, and the batched statements.

Everything is a SQLAlchemy Core expression with bound parameters (never a value in the text):

- ``expired``: the driving timestamp (maybe a column of a parent table, reached through nested
  scalar subqueries) is before ``:cutoff``; a NULL timestamp never expires;
- ``held``: a legal hold is still running for the row (its anchor timestamp is after the hold's
  cutoff, or unknown, or the hold has no end), or a person hold names the row or its person;
- ``has_children``: a row of a referencing table still points at the row (FK-safe deletes: such
  rows are anonymised instead of deleted, so held children keep their parent);
- ``anonymised``: every bound field already holds its anonymised value (so a re-run skips it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from troth.masking import MASKING, MaskContext
from troth.masking.hash import hmac_sql
from troth.policy.model import RetentionAction
from troth.retention.bind import Binding, ColumnRef

REDACT_TEXT = "[redacted]"
_TEXT_TYPES = ("char", "text", "clob", "string")


@dataclass(frozen=True)
class PersonHolds:
    """Active person holds: keyed hashes (hex) per identity name, and row keys per table."""

    identity_hashes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    row_keys: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)


def is_text_type(type_name: str | None) -> bool:
    return type_name is None or any(t in type_name.lower() for t in _TEXT_TYPES)


def max_length(type_name: str | None) -> int | None:
    if not type_name or "(" not in type_name:
        return None
    inside = type_name.split("(", 1)[1].split(")", 1)[0]
    return int(inside) if inside.isdigit() else None


class BindingSql:
    """Expressions and statements for one binding on one SQL dialect."""

    def __init__(
        self,
        binding: Binding,
        *,
        dialect: str,
        now: datetime,
        key: bytes,
        person: PersonHolds | None = None,
        types: Mapping[str, str] | None = None,
    ) -> None:
        self.b = binding
        self.dialect = dialect
        self.now = now
        self.key = key
        self.person = person or PersonHolds()
        self.types = dict(types or {})
        self.t = sa.table(binding.table, *(sa.column(c) for c in self._columns()))
        self.pk = self.t.c[binding.pk]
        self.cutoff = binding.period.before(now)
        self.params: dict[str, Any] = {"cutoff": self.cutoff}

    def _columns(self) -> list[str]:
        cols = [self.b.pk, *self.b.fields, *(c.column for c in self.b.children)]
        for ref in (self.b.timestamp, self.b.identity, *(h.anchor for h in self.b.holds)):
            if ref is not None:
                cols.append(ref.joins[0].column if ref.joins else ref.column)
        return list(dict.fromkeys(cols))

    # --- building blocks --------------------------------------------------------------------

    def ref(self, ref: ColumnRef) -> sa.ColumnElement[Any]:
        """The value of ``ref`` for the current row (nested scalar subqueries for joins)."""
        if not ref.joins:
            return self.t.c[ref.column]
        first = ref.joins[0]
        value: sa.ColumnElement[Any] = self.t.c[first.column]
        for i, join in enumerate(ref.joins):
            last = i == len(ref.joins) - 1
            want = ref.column if last else ref.joins[i + 1].column
            cols = dict.fromkeys([want, join.key])
            target = sa.table(join.table, *(sa.column(c) for c in cols)).alias(f"r{i}")
            value = sa.select(target.c[want]).where(target.c[join.key] == value).scalar_subquery()
        return value

    def expired(self) -> sa.ColumnElement[bool]:
        ts = self.ref(self.b.timestamp)
        return ts < sa.bindparam("cutoff", type_=sa.DateTime())

    def held(self) -> sa.ColumnElement[bool]:
        conds: list[sa.ColumnElement[bool]] = []
        for i, hold in enumerate(self.b.holds):
            if hold.period is None or hold.anchor is None:
                conds.append(sa.true())
                continue
            name = f"hold_cutoff_{i}"
            self.params[name] = hold.period.before(self.now)
            anchor = self.ref(hold.anchor)
            conds.append(
                sa.or_(anchor.is_(None), anchor >= sa.bindparam(name, type_=sa.DateTime()))
            )
        keys = list(self.person.row_keys.get((self.b.dataset, self.b.table), ()))
        if keys:
            self.params["person_keys"] = [int(k) if k.isdigit() else k for k in keys]
            conds.append(self.pk.in_(sa.bindparam("person_keys", expanding=True)))
        hashes = list(self.person.identity_hashes.get(self.b.identity_name or "", ()))
        if hashes and self.b.identity is not None:
            ident = self.ref(self.b.identity)
            self.params["person_hashes"] = hashes
            digest = hmac_sql(ident, MaskContext(key=self.key, dialect=self.dialect))
            conds.append(
                sa.and_(
                    ident.is_not(None), digest.in_(sa.bindparam("person_hashes", expanding=True))
                )
            )
        return sa.or_(*conds) if conds else sa.false()

    def has_children(self) -> sa.ColumnElement[bool]:
        conds = []
        for i, child in enumerate(self.b.children):
            c = sa.table(child.table, sa.column(child.column)).alias(f"c{i}")
            conds.append(sa.exists().where(c.c[child.column] == self.pk))
        return sa.or_(*conds) if conds else sa.false()

    def _ctx(self, column: str) -> MaskContext:
        type_name = self.types.get(column)
        return MaskContext(
            key=self.key,
            dialect=self.dialect,
            is_text=is_text_type(type_name),
            max_length=max_length(type_name),
            redact_text=REDACT_TEXT,
        )

    def anonymised(self) -> sa.ColumnElement[bool]:
        conds = []
        for name, strategy in self.b.masks.items():
            col = self.t.c[name]
            ctx = self._ctx(name)
            if strategy == "redact" and ctx.is_text:
                conds.append(sa.or_(col.is_(None), col == MASKING.get("redact").python("x", ctx)))
            else:
                conds.append(col.is_(None))
        return sa.and_(*conds)

    def changes(self) -> dict[str, sa.ColumnElement[Any]]:
        return {
            name: MASKING.get(strategy).sql(self.t.c[name], self._ctx(name))
            for name, strategy in self.b.masks.items()
        }

    # --- predicates of the three outcomes ---------------------------------------------------

    def delete_predicate(self) -> sa.ColumnElement[bool] | None:
        if self.b.action is not RetentionAction.delete:
            return None
        return sa.and_(self.expired(), sa.not_(self.held()), sa.not_(self.has_children()))

    def anonymise_predicate(self) -> sa.ColumnElement[bool] | None:
        base = [self.expired(), sa.not_(self.held()), sa.not_(self.anonymised())]
        if self.b.action is RetentionAction.delete:
            if not self.b.children:
                return None
            base.append(self.has_children())
        return sa.and_(*base)

    def held_predicate(self) -> sa.ColumnElement[bool]:
        return sa.and_(self.expired(), self.held())

    # --- statements -------------------------------------------------------------------------

    def count_statement(self) -> sa.Select[Any]:
        """One statement: rows to delete, to anonymise, held (expired but kept), and the lowest
        and highest key of an expired row (the keyset range the sweep walks)."""

        def total(pred: sa.ColumnElement[bool] | None, label: str) -> sa.ColumnElement[Any]:
            if pred is None:
                return sa.literal(0).label(label)
            return sa.func.coalesce(sa.func.sum(sa.case((pred, 1), else_=0)), 0).label(label)

        expired = self.expired()
        stmt = sa.select(
            total(self.delete_predicate(), "delete"),
            total(self.anonymise_predicate(), "anonymise"),
            total(self.held_predicate(), "held"),
            sa.func.min(sa.case((expired, self.pk))).label("lo"),
            sa.func.max(sa.case((expired, self.pk))).label("hi"),
        ).select_from(self.t)
        if not self.b.timestamp.joins:
            # every outcome needs an expired row: filter first (an index on the timestamp helps)
            stmt = stmt.where(expired)
        return stmt

    def batch_select(
        self, pred: sa.ColumnElement[bool], *, after: bool, batch_size: int = 1000
    ) -> sa.Select[Any]:
        """Keys of the next batch, in primary key order, within the expired range ``[:lo, :hi]``.

        Keyset: the first batch starts at ``pk >= :last`` (``:last`` is the lowest expired key),
        the next ones at ``pk > :last``; ``pk <= :hi`` stops the scan at the highest expired key
        instead of walking the rest of the table to find an empty batch.
        """
        last: sa.BindParameter[Any] = sa.bindparam("last")
        start = self.pk > last if after else self.pk >= last
        where = sa.and_(start, self.pk <= sa.bindparam("hi"), pred)
        return sa.select(self.pk).where(where).order_by(self.pk).limit(batch_size)

    def batch_write(
        self, pred: sa.ColumnElement[bool], *, delete: bool, after: bool, batch_size: int = 1000
    ) -> sa.Select[Any]:
        """One statement per batch (PostgreSQL): select the keys, write them, report the batch.

        ``WITH batch AS (<batch_select>), done AS (DELETE ... WHERE pk IN (SELECT pk FROM batch)
        AND <pred> RETURNING pk) SELECT max(batch.pk), count(batch), count(done)``: one round
        trip, no key list through the client; the predicate is checked again on the rows it
        locks (a row changed meanwhile by another transaction is re-checked and kept).
        """
        keys = self.batch_select(pred, after=after, batch_size=batch_size).cte("batch")
        target = self.pk.in_(sa.select(keys.c[self.b.pk]))
        dml: sa.Delete | sa.Update
        if delete:
            dml = sa.delete(self.t).where(target, pred)
        else:
            dml = sa.update(self.t).where(target, pred).values(self.changes())
        done = dml.returning(self.pk).cte("done")
        return sa.select(
            sa.select(sa.func.max(keys.c[self.b.pk])).scalar_subquery().label("last"),
            sa.select(sa.func.count()).select_from(keys).scalar_subquery().label("selected"),
            sa.select(sa.func.count()).select_from(done).scalar_subquery().label("written"),
        )

    def delete_statement(self, pred: sa.ColumnElement[bool]) -> sa.Delete:
        return sa.delete(self.t).where(self.pk.in_(sa.bindparam("keys", expanding=True)), pred)

    def update_statement(self, pred: sa.ColumnElement[bool]) -> sa.Update:
        return (
            sa.update(self.t)
            .where(self.pk.in_(sa.bindparam("keys", expanding=True)), pred)
            .values(self.changes())
        )


def one_statement_batches(dialect: sa.Dialect) -> bool:
    """Whether batches run as one statement (data-modifying CTE with ``RETURNING``).

    PostgreSQL only: MariaDB/MySQL accept no ``LIMIT`` in an ``IN`` subquery, and neither they
    nor SQLite have data-modifying CTEs, so they keep two statements per batch.
    """
    return dialect.name == "postgresql"


def sql_text(stmt: sa.ClauseElement, dialect: sa.Dialect) -> str:
    """The statement as the engine would receive it: placeholders, never values."""
    return " ".join(str(stmt.compile(dialect=dialect)).split())

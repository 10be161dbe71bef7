"""The SQL predicates of one binding: which rows are due, which are held, what anonymising sets.

Everything is a SQLAlchemy Core expression whose values are bound parameters (never a value in
the text), and every predicate takes the table (or an alias of it) it is evaluated on, so the
predicates of one table compose into another's (:mod:`troth.retention.safety`):

- ``due``: the driving timestamp is before the cutoff and the map's row conditions hold. A
  timestamp reached through references is ONE scalar subquery whose joins are correlated with the
  row (``SELECT max(c.last_login) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE
  o.id = order_items.order_id``): the same for any depth, never a row of someone else; a NULL
  timestamp (or a NULL reference) never expires;
- ``held``: a legal hold still runs for the row (its anchor is younger than the hold's period, or
  unknown, or the hold has no end), or a person hold names the row or its person;
- ``anonymised``: every bound field already holds its anonymised value (so a re-run skips it).

The outcome predicates (delete, anonymise, held) add foreign-key safety from the table's
:class:`~troth.retention.safety.DeleteGraph`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from troth.masking import MASKING, MaskContext
from troth.masking.hash import hmac_sql
from troth.policy.model import RetentionAction
from troth.retention.bind import Binding, ColumnRef, Condition

if TYPE_CHECKING:
    from troth.retention.safety import DeleteGraph

REDACT_TEXT = "[redacted]"
_TEXT_TYPES = ("char", "text", "clob", "string")

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class PersonHold:
    """One active person hold, as a sweep sees it: an id, why, and what it names."""

    id: int
    reason: str
    basis: str
    value: str  # the keyed hash (hex, no prefix) of an identity value, or a row key


@dataclass(frozen=True)
class PersonHolds:
    """Active person holds: by identity name, and by ``(dataset, table)`` for row holds."""

    identity: Mapping[str, Sequence[PersonHold]] = field(default_factory=dict)
    rows: Mapping[tuple[str, str], Sequence[PersonHold]] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldRef:
    """A hold as the evidence names it (never a value)."""

    id: str
    source: str  # policy, map-table, map-field, person
    basis: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"hold": self.id, "source": self.source, "basis": self.basis, "reason": self.reason}


@dataclass(frozen=True)
class KeyShape:
    """How a table's rows are named in a batch.

    ``key``: the primary key columns (one or several); ``rowid``: SQLite's row id (a table
    without a primary key); ``ctid``: PostgreSQL's row address, used within one statement only;
    ``none``: MariaDB/MySQL without a key (``DELETE/UPDATE ... WHERE <predicate> LIMIT n``).
    """

    kind: str
    columns: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "key":
            return f"primary key ({', '.join(self.columns)})"
        return {
            "rowid": "no primary key: SQLite rowid",
            "ctid": "no primary key: PostgreSQL ctid within each batch's statement",
            "none": "no primary key: repeated DELETE/UPDATE ... LIMIT n",
        }[self.kind]


def key_shape(declared: Sequence[str], dialect: str) -> KeyShape:
    if declared:
        return KeyShape("key", tuple(declared))
    if dialect == "sqlite":
        return KeyShape("rowid", ("rowid",))
    if dialect == "postgresql":
        return KeyShape("ctid", ("ctid",))
    return KeyShape("none")


def is_text_type(type_name: str | None) -> bool:
    return type_name is None or any(t in type_name.lower() for t in _TEXT_TYPES)


def max_length(type_name: str | None) -> int | None:
    if not type_name or "(" not in type_name:
        return None
    inside = type_name.split("(", 1)[1].split(")", 1)[0]
    return int(inside) if inside.isdigit() else None


def table_clause(
    name: str, columns: Sequence[str], shape: KeyShape | None = None
) -> sa.TableClause:
    cols = list(dict.fromkeys(columns))
    if shape is not None and shape.kind in ("rowid", "ctid"):
        cols.append(shape.kind)
    return sa.table(name, *(sa.column(c) for c in cols))


class BindingSql:
    """Expressions and statements for one binding on one SQL dialect."""

    def __init__(
        self,
        binding: Binding,
        *,
        dialect: str,
        now: datetime,
        key: bytes,
        columns: Mapping[str, Sequence[str]],
        types: Mapping[str, str],
        shape: KeyShape,
        person: PersonHolds | None = None,
    ) -> None:
        self.b = binding
        self.dialect = dialect
        self.now = now
        self.key = key
        self.person = person or PersonHolds()
        self.columns = columns  # live columns of every table of the store
        self.types = dict(types)  # the bound table's column types
        self.shape = shape
        self.t = self.table(binding.table)
        self.cutoff = binding.period.before(now)
        self.graph: DeleteGraph | None = None

    # --- tables and values ------------------------------------------------------------------

    def table(self, name: str) -> sa.TableClause:
        shape = self.shape if name == self.b.table else None
        return table_clause(name, self.columns.get(name, ()), shape)

    def alias(self, name: str) -> sa.FromClause:
        return self.table(name).alias()

    def time(self, moment: datetime) -> sa.ColumnElement[Any]:
        """A bound date/time; on SQLite the text form stored values have ("2024-06-01 00:00:00")."""
        if self.dialect == "sqlite":
            return sa.literal(moment.isoformat(sep=" "), sa.String)
        return sa.literal(moment, sa.DateTime)

    def value(
        self,
        ref: ColumnRef,
        t: sa.FromClause,
        conds: Sequence[tuple[int, Condition]] = (),
    ) -> sa.ColumnElement[Any]:
        """The value of ``ref`` for the row of ``t``: its column, or one scalar subquery whose
        joins start at the row (the latest value when a step finds several rows); ``conds``
        restrict the rows of the steps (join index, condition)."""
        if not ref.joins:
            return t.c[ref.column]
        path, aliases, where = self._path(ref, t)
        on = [self._condition(c, aliases[i]) for i, c in conds]
        return (
            sa.select(sa.func.max(aliases[-1].c[ref.column]))
            .select_from(path)
            .where(where, *on)
            .correlate_except(*aliases)
            .scalar_subquery()
        )

    def _path(
        self, ref: ColumnRef, t: sa.FromClause
    ) -> tuple[sa.FromClause, list[sa.FromClause], sa.ColumnElement[bool]]:
        """The joins of ``ref`` as one FROM, its aliases, and the condition that ties the first
        step to the row of ``t`` (the correlation)."""
        aliases = [self.alias(j.table) for j in ref.joins]
        path: sa.FromClause = aliases[0]
        for i in range(1, len(aliases)):
            j = ref.joins[i]
            path = path.join(aliases[i], aliases[i].c[j.key] == aliases[i - 1].c[j.column])
        first = ref.joins[0]
        return path, aliases, aliases[0].c[first.key] == t.c[first.column]

    def any_value(self, ref: ColumnRef, t: sa.FromClause, test: Any) -> sa.ColumnElement[bool]:
        """Whether ``test(column)`` holds for the value of ``ref`` (any of them through joins)."""
        if not ref.joins:
            col = t.c[ref.column]
            return sa.and_(col.is_not(None), test(col))
        path, aliases, where = self._path(ref, t)
        col = aliases[-1].c[ref.column]
        sel = sa.select(sa.literal(1)).select_from(path).where(where, col.is_not(None), test(col))
        return sa.exists(sel.correlate_except(*aliases))

    # --- due and held ---------------------------------------------------------------------------

    def conditions(self, t: sa.FromClause) -> list[sa.ColumnElement[bool]]:
        return [self._condition(c, t) for c in self.b.conditions]

    def _condition(self, cond: Condition, t: sa.FromClause) -> sa.ColumnElement[bool]:
        col = t.c[cond.column]
        values = [v for v in cond.values if v is not None]
        terms: list[sa.ColumnElement[bool]] = []
        if None in cond.values:
            terms.append(col.is_(None))
        if values:
            terms.append(self._equals(col, values))
        return sa.or_(*terms)

    def _equals(
        self, col: sa.ColumnElement[Any], values: Sequence[Scalar]
    ) -> sa.ColumnElement[bool]:
        # text goes untyped: PostgreSQL then compares it with an enum or a varchar column alike
        lits = [
            sa.literal(v, sa.types.NullType()) if isinstance(v, str) else sa.literal(v)
            for v in values
        ]
        plain = col == lits[0] if len(lits) == 1 else col.in_(lits)
        if self.dialect != "mysql" or not all(isinstance(v, str) for v in values):
            return plain
        # MariaDB/MySQL collations match 'Closed' and 'closed ' to 'closed': compare the bytes
        # too, so a condition selects the same rows as on SQLite and PostgreSQL
        raw = sa.cast(col, sa.BINARY())
        exact = [sa.cast(v, sa.BINARY()) for v in lits]
        return sa.and_(plain, raw == exact[0] if len(exact) == 1 else raw.in_(exact))

    def due(self, t: sa.FromClause) -> sa.ColumnElement[bool]:
        """Expired (the timestamp is before the cutoff) and within the rule's row conditions."""
        ts = self.value(self.b.timestamp, t, self.b.path_conditions)
        return sa.and_(ts < self.time(self.cutoff), *self.conditions(t))

    def hold_terms(self, t: sa.FromClause) -> list[tuple[HoldRef, sa.ColumnElement[bool]]]:
        """Each hold that applies, with the condition that it keeps a row of ``t``."""
        out: list[tuple[HoldRef, sa.ColumnElement[bool]]] = []
        for hold in self.b.holds:
            ref = HoldRef(hold.id, hold.source, hold.basis, hold.reason)
            if hold.period is None or hold.anchor is None:
                out.append((ref, sa.true()))
                continue
            anchor = self.value(hold.anchor, t)
            since = self.time(hold.period.before(self.now))
            out.append((ref, sa.or_(anchor.is_(None), anchor >= since)))
        for ph in self.person.rows.get((self.b.dataset, self.b.table), ()):
            out.append((_person(ph), self.row_key_is(t, ph.value)))
        if self.b.identity is not None and self.b.identity_name is not None:
            ctx = MaskContext(key=self.key, dialect=self.dialect)
            for ph in self.person.identity.get(self.b.identity_name, ()):
                test = _digest_in(ctx, [ph.value])
                out.append((_person(ph), self.any_value(self.b.identity, t, test)))
        return out

    def held(self, t: sa.FromClause) -> sa.ColumnElement[bool]:
        conds: list[sa.ColumnElement[bool]] = []
        for ref, cond in self.hold_terms(t):
            if ref.source != "person":
                conds.append(cond)
        rows = self.person.rows.get((self.b.dataset, self.b.table), ())
        conds += [self.row_key_is(t, ph.value) for ph in rows]
        hashes = [ph.value for ph in self.person.identity.get(self.b.identity_name or "", ())]
        if hashes and self.b.identity is not None:
            ctx = MaskContext(key=self.key, dialect=self.dialect)
            conds.append(self.any_value(self.b.identity, t, _digest_in(ctx, hashes)))
        return sa.or_(*conds) if conds else sa.false()

    def row_key_is(self, t: sa.FromClause, key: str) -> sa.ColumnElement[bool]:
        """A person hold's row key (``42``, or ``3,7`` for a composite key) matches the row."""
        parts = key.split(",") if len(self.shape.columns) > 1 else [key]
        return sa.and_(
            *(
                t.c[c] == sa.literal(int(v) if v.strip().lstrip("-").isdigit() else v.strip())
                for c, v in zip(self.shape.columns, parts, strict=True)
            )
        )

    def candidate(self, t: sa.FromClause) -> sa.ColumnElement[bool]:
        """Due and not held: what the rule would remove if nothing referenced the row."""
        return sa.and_(self.due(t), sa.not_(self.held(t)))

    # --- anonymising ----------------------------------------------------------------------------

    def _ctx(self, column: str) -> MaskContext:
        type_name = self.types.get(column)
        return MaskContext(
            key=self.key,
            dialect=self.dialect,
            is_text=is_text_type(type_name),
            max_length=max_length(type_name),
            redact_text=REDACT_TEXT,
        )

    def anonymised(self, t: sa.FromClause) -> sa.ColumnElement[bool]:
        conds = []
        for name, strategy in self.b.masks.items():
            col = t.c[name]
            ctx = self._ctx(name)
            if strategy == "redact" and ctx.is_text:
                done = sa.literal(MASKING.get("redact").python("x", ctx))
                conds.append(sa.or_(col.is_(None), col == done))
            else:
                conds.append(col.is_(None))
        return sa.and_(*conds)

    def changes(self) -> dict[str, sa.ColumnElement[Any]]:
        return {
            name: MASKING.get(strategy).sql(self.t.c[name], self._ctx(name))
            for name, strategy in self.b.masks.items()
        }

    # --- the three outcomes ---------------------------------------------------------------------

    def _safety(self, t: sa.FromClause) -> tuple[Any, Any]:
        """``(stays referenced, removed by an earlier binding of the table)``, or Nones."""
        if self.graph is None:
            return None, None
        return self.graph.stays_referenced(self.b.table, t), self.graph.gone_before(self, t)

    def delete_predicate(self, t: sa.FromClause | None = None) -> sa.ColumnElement[bool] | None:
        if self.b.action is not RetentionAction.delete:
            return None
        t = self.t if t is None else t
        stays, gone = self._safety(t)
        conds = [self.candidate(t)]
        conds += [sa.not_(c) for c in (stays, gone) if c is not None]
        return sa.and_(*conds)

    def anonymise_predicate(self, t: sa.FromClause | None = None) -> sa.ColumnElement[bool] | None:
        """Rows the rule anonymises; for a delete rule, those a row that stays points at."""
        t = self.t if t is None else t
        stays, gone = self._safety(t)
        conds = [self.candidate(t), sa.not_(self.anonymised(t))]
        if self.b.action is RetentionAction.delete:
            if stays is None:
                return None
            conds.append(stays)
        if gone is not None:
            conds.append(sa.not_(gone))
        return sa.and_(*conds)

    def held_predicate(self, t: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
        t = self.t if t is None else t
        _, gone = self._safety(t)
        conds = [self.due(t), self.held(t)]
        return sa.and_(*conds, *([sa.not_(gone)] if gone is not None else []))

    def kept_terms(self) -> list[tuple[HoldRef, sa.ColumnElement[bool]]]:
        """Per hold: the rows of this binding it keeps (due, not removed by an earlier rule)."""
        _, gone = self._safety(self.t)
        base = [self.due(self.t), *([sa.not_(gone)] if gone is not None else [])]
        return [(ref, sa.and_(*base, cond)) for ref, cond in self.hold_terms(self.t)]


def _person(ph: PersonHold) -> HoldRef:
    return HoldRef(f"person:{ph.id}", "person", ph.basis, ph.reason)


def _digest_in(ctx: MaskContext, hashes: list[str]) -> Any:
    def test(col: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return hmac_sql(col, ctx).in_([sa.literal(h) for h in hashes])

    return test

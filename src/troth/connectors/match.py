"""Which rows of a table: lookups by keys or identity values, within a scope, as SQL.

A :class:`Rows` names the rows a read or a write touches: any of its :class:`Lookup` (values of
one column, of a key tuple, or of a value inside a JSON column), inside its ``scope`` (columns that
must hold given values: a tenant), minus ``exclude`` (rows found before). :class:`MatchSql`
renders it for one dialect with bound parameters only (JSON paths are validated identifiers).

Identity lookups compare the column's *form* (:mod:`troth.datamap.normalise`), computed by the
engine: the same rows on SQLite, PostgreSQL and MariaDB whatever the collation, because the
comparison is byte for byte (``COLLATE "C"``, ``utf8mb4_bin``, SQLite's BINARY). A column that
``stored`` its values normalised is compared as it is (its index serves the lookup) and checked
byte for byte too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from troth.datamap.normalise import column_form


@dataclass(frozen=True)
class Lookup:
    """Rows whose ``columns`` hold one of ``values`` (tuples when there are several columns).

    ``form``: compare the column's identity form (one column); ``stored``: the column holds the
    form already; ``path``: the value sits at this JSON path in the column, ``array``: in the
    array there (any element); ``hashed``: the values are troth's keyed hashes of the column's
    text (a key that is personal data is stored hashed, see :mod:`troth.dsr.progress`).
    """

    columns: tuple[str, ...]
    values: tuple[Any, ...]
    form: str | None = None
    stored: bool = False
    path: tuple[str, ...] = ()
    array: bool = False
    hashed: bool = False

    @classmethod
    def of(cls, column: str, values: Any, **kw: Any) -> Lookup:
        return cls((column,), tuple(dict.fromkeys(v for v in values if v is not None)), **kw)

    @cached_property
    def by_column(self) -> tuple[list[Any], ...]:
        """The values of each column (the key tuples transposed), for multi-column lookups."""
        if len(self.columns) < 2:
            return (list(self.values),)
        return tuple(list(map(itemgetter(i), self.values)) for i in range(len(self.columns)))

    def with_values(self, values: Sequence[Any]) -> Lookup:
        return Lookup(
            self.columns, tuple(values), self.form, self.stored, self.path, self.array, self.hashed
        )


@dataclass(frozen=True)
class Rows:
    """Any of ``lookups``, inside ``scope`` (column = value), minus any of ``exclude``."""

    lookups: tuple[Lookup, ...]
    scope: tuple[tuple[str, Any], ...] = ()
    exclude: tuple[Lookup, ...] = ()
    #: extra conditions the caller adds (legal holds that keep rows, "no row points here")
    where: tuple[Callable[[sa.TableClause], sa.ColumnElement[bool]], ...] = field(default=())
    #: columns of the table those conditions read
    needs: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        cols = [c for lk in (*self.lookups, *self.exclude) for c in lk.columns]
        return list(dict.fromkeys([*cols, *(c for c, _ in self.scope), *self.needs]))

    def size(self) -> int:
        return sum(len(lk.values) for lk in self.lookups)


class MatchSql:
    """Renders :class:`Rows` as a WHERE clause for one dialect (values as bound parameters)."""

    def __init__(
        self,
        dialect: str,
        *,
        hash_key: bytes | None = None,
        arrays: bool = False,
        wrap: Callable[[Sequence[Any]], Any] = list,
    ) -> None:
        self.dialect = dialect
        self.hash_key = hash_key
        self.arrays = arrays  # PostgreSQL: one array parameter per lookup
        self.wrap = wrap  # how an array parameter is sent (binary int8[] for integer keys)

    def _bind(self, value: Any, *, expanding: bool) -> sa.BindParameter[Any]:
        # the value travels with the statement as a bound parameter (never in its text)
        return sa.bindparam(None, value, expanding=expanding, unique=True)

    def clause(self, t: sa.TableClause, rows: Rows) -> sa.ColumnElement[bool]:
        found = sa.or_(*(self.lookup(t, lk) for lk in rows.lookups)) if rows.lookups else sa.false()
        conds = [found, *(t.c[c] == self._bind(v, expanding=False) for c, v in rows.scope)]
        if rows.exclude:
            conds.append(sa.not_(sa.or_(*(self.lookup(t, lk) for lk in rows.exclude))))
        conds += [w(t) for w in rows.where]
        return sa.and_(*conds)

    # --- one lookup ------------------------------------------------------------------------

    def lookup(self, t: sa.TableClause, lk: Lookup) -> sa.ColumnElement[bool]:
        if not lk.values:
            return sa.false()
        if len(lk.columns) > 1:
            cols = [self._text(t.c[c]) if lk.hashed else t.c[c] for c in lk.columns]
            if self.arrays and tuple_arrays(lk):
                return sa.tuple_(*cols).in_(self._unnest(lk))
            return sa.tuple_(*cols).in_(self._bind(list(lk.values), expanding=True))
        col: sa.ColumnElement[Any] = t.c[lk.columns[0]]
        if lk.path and lk.array:
            return self._array_has(col, lk)
        if lk.path:
            col = self.json_scalar(col, lk.path)
        return self.match(col, lk)

    def match(self, col: sa.ColumnElement[Any], lk: Lookup) -> sa.ColumnElement[bool]:
        """Whether the value ``col`` (a column, or a value taken from JSON) is one of ``lk``'s."""
        if lk.hashed:
            return self._in(self._hmac(self._form(col, lk.form) if lk.form else col), lk.values)
        if lk.form is None:
            return self._in(col, lk.values)
        if lk.stored and isinstance(col, sa.ColumnClause):
            if self.dialect == "postgresql":
                return self._in(col, lk.values)
            return sa.and_(self._in(col, lk.values), self._in(self.exact(col), lk.values))
        return self._in(self.exact(self._form(col, lk.form)), lk.values)

    def _unnest(self, lk: Lookup) -> sa.Select[Any]:
        """PostgreSQL: key tuples as one array per column, zipped back by ``unnest`` (one
        statement whatever the number of keys; integer arrays go binary, see ``wrap``)."""
        names = [f"k{i}" for i in range(len(lk.columns))]
        arrays = [
            sa.cast(self._bind(list(col), expanding=False), sa.ARRAY(sa.Text))
            if lk.hashed
            else self._bind(self.wrap(col), expanding=False)
            for col in lk.by_column
        ]
        keys = sa.func.unnest(*arrays).table_valued(*names).render_derived()
        return sa.select(*(keys.c[n] for n in names))

    def _in(self, expr: sa.ColumnElement[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
        if self.arrays:
            return expr == sa.any_(self._bind(self.wrap(values), expanding=False))
        return expr.in_(self._bind(list(values), expanding=True))

    def exact(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The expression compared byte for byte, whatever the column's collation."""
        if self.dialect == "postgresql":
            return expr  # a deterministic collation (every default one) compares bytes
        if self.dialect == "mysql":
            from sqlalchemy.dialects import mysql  # only for MySQL stores

            # NO PAD binary: a trailing space is a difference, as on the other engines
            text = sa.cast(expr, mysql.CHAR(charset="utf8mb4"))
            return sa.collate(text, "utf8mb4_nopad_bin")
        return sa.collate(expr, "BINARY")

    def _text(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return self._hmac(expr)

    def _hmac(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        from troth.masking.base import MaskContext
        from troth.masking.hash import hmac_sql

        assert self.hash_key is not None, "hashed lookups need the key"
        return hmac_sql(expr, MaskContext(key=self.hash_key, dialect=self.dialect))

    def _form(self, col: sa.ColumnElement[Any], form: str | None) -> sa.ColumnElement[Any]:
        return form_sql(col, form or "exact", self.dialect)

    # --- JSON ------------------------------------------------------------------------------

    def json_scalar(
        self, col: sa.ColumnElement[Any], path: tuple[str, ...]
    ) -> sa.ColumnElement[Any]:
        """The text at ``path`` in a JSON column (NULL when absent)."""
        if self.dialect == "postgresql":
            return sa.cast(col, _JSONB).op("#>>")(sa.literal_column(_pg_path(path)))
        if self.dialect == "mysql":
            return sa.func.json_unquote(
                sa.func.json_extract(col, sa.literal_column(_js_path(path)))
            )
        return sa.func.json_extract(col, sa.literal_column(_js_path(path)))

    def _array_has(self, col: sa.ColumnElement[Any], lk: Lookup) -> sa.ColumnElement[bool]:
        value = Lookup((), lk.values, lk.form or "exact", hashed=lk.hashed)
        return sa.exists(
            sa.select(sa.literal(1))
            .select_from(json_elements(col, lk.path, self.dialect))
            .where(self.match(element_text(self.dialect), value))
        )


def int64s(values: Sequence[Any]) -> bool:
    """Whether every value is a Python ``int`` that fits a ``bigint``."""
    return (
        bool(values)
        and set(map(type, values)) == {int}
        and min(values) >= -(2**63)
        and max(values) < 2**63
    )


def tuple_arrays(lk: Lookup) -> bool:
    """Whether a key-tuple lookup can go as typed arrays (PostgreSQL): every column's values are
    integers, or the values are troth's keyed hashes (text). Other key types (text, uuid, dates)
    keep the batched ``IN`` list, whose untyped values the server coerces to the column's type."""
    if not lk.values or len(lk.columns) < 2:
        return False
    return lk.hashed or all(int64s(col) for col in lk.by_column)


# --- building blocks shared with the JSON masks (troth.connectors.jsonmask) ----------------------


class _Jsonb(sa.types.UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"


_JSONB = _Jsonb()


def _pg_path(path: tuple[str, ...]) -> str:
    return "'{" + ",".join(path) + "}'"


def _js_path(path: tuple[str, ...]) -> str:
    return "'$." + ".".join(path) + "'"


class JsonElements(sa.sql.expression.FromClause):
    """The elements of the JSON array at ``path`` in ``column`` as a FROM item ``jt``
    (PostgreSQL: ``jt.j`` jsonb, ``jt.o`` position; MariaDB: ``jt.v`` text, ``jt.o``; SQLite:
    json_each's ``jt.key``, ``jt.type``, ``jt.value``); :func:`element_text` reads one as text."""

    named_with_column = False
    inherit_cache = False  # rendered from its own attributes

    def __init__(self, column: sa.ColumnElement[Any], path: tuple[str, ...], dialect: str):
        self.column = column
        self.path = path
        self.dialect = dialect

    @property
    def _from_objects(self) -> list[sa.sql.expression.FromClause]:
        return [self]


@compiles(JsonElements)
def _compile_elements(element: JsonElements, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    if element.dialect == "postgresql":
        arr = f"CAST({col} AS JSONB) #> {_pg_path(element.path)}"
        safe = f"CASE WHEN jsonb_typeof({arr}) = 'array' THEN {arr} ELSE '[]'::jsonb END"
        return f"jsonb_array_elements({safe}) WITH ORDINALITY AS jt(j, o)"
    if element.dialect == "mysql":
        path = "'$." + ".".join(element.path) + "[*]'"
        return (
            f"JSON_TABLE({col}, {path} COLUMNS (o FOR ORDINALITY, v VARCHAR(4000) PATH '$')) AS jt"
        )
    path = _js_path(element.path)
    guard = f"CASE WHEN json_valid({col}) AND json_type({col}, {path}) = 'array' "
    return f"json_each({guard}THEN {col} ELSE '[]' END, {path}) AS jt"


def json_elements(col: sa.ColumnElement[Any], path: tuple[str, ...], dialect: str) -> JsonElements:
    return JsonElements(col, path, dialect)


def element_text(dialect: str) -> sa.ColumnElement[Any]:
    """An element of :class:`JsonElements` as text (strings unquoted)."""
    if dialect == "postgresql":
        return sa.literal_column("jt.j").op("#>>")(sa.literal_column("'{}'"))
    if dialect == "sqlite":
        return sa.literal_column("jt.value")
    return sa.literal_column("jt.v")


def form_sql(col: sa.ColumnElement[Any], form: str, dialect: str) -> sa.ColumnElement[Any]:
    """The identity form of ``col`` computed by the engine (see :func:`column_form`)."""
    if dialect == "sqlite":
        return sa.func.troth_norm(sa.literal(form), col)
    flags = ("g",) if dialect == "postgresql" else ()
    # TRIM (spaces) and LOWER: the same on the three engines, and the expression an index on
    # lower(trim(email)) serves on PostgreSQL
    trimmed = sa.func.trim(col)
    if form == "email":
        return sa.func.lower(trimmed)
    if form == "phone":
        return sa.func.regexp_replace(col, sa.literal("[^0-9]"), sa.literal(""), *flags)
    if form == "email_cs":
        if dialect == "postgresql":
            domain: Any = sa.func.coalesce(sa.func.substring(trimmed, sa.literal("@[^@]*$")), "")
            head = sa.func.left(trimmed, sa.func.length(trimmed) - sa.func.length(domain))
            return head.op("||")(sa.func.lower(domain))
        domain = sa.func.substring_index(trimmed, "@", -1)
        head = sa.func.left(trimmed, sa.func.char_length(trimmed) - sa.func.char_length(domain))
        return sa.case(
            (sa.func.locate("@", trimmed) > 0, sa.func.concat(head, sa.func.lower(domain))),
            else_=trimmed,
        )
    return trimmed


def install_sqlite_norm(dbapi_conn: Any) -> None:
    """``troth_norm(form, value)`` on a SQLite connection: :func:`column_form` in the engine."""
    dbapi_conn.create_function("troth_norm", 2, column_form, deterministic=True)

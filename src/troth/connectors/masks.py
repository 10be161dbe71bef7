"""What one masking ``UPDATE`` sets: a column, a value inside a JSON column, or array elements.

A :class:`ColumnMask` names a masking strategy for a column, optionally at a JSON path (the value
there is replaced, the rest of the document is kept) or for the elements of a JSON array (all of
them, or only those that match a lookup: the person's own address in someone else's ``cc`` list).
``keep_if`` keeps the old value on rows where a hold is still running. :func:`mask_values` builds
the ``SET`` clause; the database computes every new value (rows never travel to Python). Several
masks on one JSON column apply one after the other to the same document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from troth.connectors.match import (
    Lookup,
    MatchSql,
    _js_path,
    _pg_path,
    element_text,
    json_elements,
)
from troth.connectors.mentions import redacted
from troth.masking.base import MASKING, MaskContext

Condition = Callable[[sa.TableClause], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class ColumnMask:
    strategy: str
    ctx: MaskContext
    path: tuple[str, ...] = ()
    array: bool = False
    only: Lookup | None = None
    keep_if: Condition | None = None
    #: the column's type as the store names it (``json``, ``jsonb``, ``text``...), for PostgreSQL
    sql_type: str | None = None


def mask_values(
    t: sa.TableClause, masks: Sequence[tuple[str, ColumnMask]], dialect: str
) -> dict[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """The ``SET`` clause: each column's new value as a SQL expression."""
    out: dict[sa.ColumnElement[Any], sa.ColumnElement[Any]] = {}
    for column, mask in masks:
        col = t.c[column]
        ctx = replace(mask.ctx, dialect=dialect)
        before = out.get(col, col)
        if mask.only is not None and mask.only.text:  # the person's mentions in free text
            new = redacted(before, [str(v) for v in mask.only.values], dialect, ctx.redact_text)
        elif mask.path and mask.array:
            new = _elements(before, mask, ctx, dialect)
        elif mask.path:
            new = _member(before, mask, ctx, dialect)
        else:
            new = MASKING.get(mask.strategy).sql(before, ctx)
        if mask.keep_if is not None:
            new = sa.case((mask.keep_if(t), col), else_=new)
        out[col] = new
    return out


def _strategy(value: sa.ColumnElement[Any], mask: ColumnMask, ctx: MaskContext) -> Any:
    return MASKING.get(mask.strategy).sql(value, replace(ctx, is_text=True, max_length=None))


def _member(
    doc: sa.ColumnElement[Any], mask: ColumnMask, ctx: MaskContext, dialect: str
) -> sa.ColumnElement[Any]:
    """The document with the value at ``mask.path`` masked (unchanged when it has none)."""
    path = mask.path
    if dialect == "postgresql":
        jdoc = sa.cast(doc, _JSONB)
        old: Any = jdoc.op("#>>")(sa.literal_column(_pg_path(path)))
        new = sa.func.coalesce(sa.func.to_jsonb(_strategy(old, mask, ctx)), _NULL_JSONB)
        setter = sa.func.jsonb_set(jdoc, sa.literal_column(_pg_path(path)), new, sa.false())
        return sa.case(
            (jdoc.op("#>")(sa.literal_column(_pg_path(path))).is_(None), doc),
            else_=_as_type(setter, mask.sql_type),
        )
    js: Any = sa.literal_column(_js_path(path))
    if dialect == "mysql":
        old = sa.func.json_unquote(sa.func.json_extract(doc, js))
        present = sa.func.json_contains_path(doc, "one", js) == 1
        return sa.case((present, sa.func.json_set(doc, js, _strategy(old, mask, ctx))), else_=doc)
    old = sa.func.json_extract(doc, js)
    present = sa.and_(sa.func.json_valid(doc) == 1, sa.func.json_type(doc, js).is_not(None))
    return sa.case((present, sa.func.json_set(doc, js, _strategy(old, mask, ctx))), else_=doc)


def _elements(
    doc: sa.ColumnElement[Any], mask: ColumnMask, ctx: MaskContext, dialect: str
) -> sa.ColumnElement[Any]:
    """The document with the elements of the array at ``mask.path`` masked (those that match
    ``mask.only``, or all); other elements, their order and types are kept."""
    text = element_text(dialect)
    matcher = MatchSql(dialect, hash_key=ctx.key, arrays=dialect == "postgresql")
    if mask.only is not None:
        only = Lookup((), mask.only.values, mask.only.form or "exact", hashed=mask.only.hashed)
        hit: sa.ColumnElement[bool] = matcher.match(text, only)
    else:
        hit = sa.true()
    masked = _strategy(text, mask, ctx)
    frm = json_elements(doc, mask.path, dialect)
    if dialect == "postgresql":
        j: Any = sa.literal_column("jt.j")
        is_str = sa.func.jsonb_typeof(j) == "string"
        elem = sa.case(
            (sa.and_(is_str, hit), sa.func.coalesce(sa.func.to_jsonb(masked), _NULL_JSONB)),
            else_=j,
        )
        agg = sa.func.coalesce(
            sa.func.jsonb_agg(sa.literal_column("x")),
            sa.literal_column("'[]'::jsonb"),
        )
        ordered = sa.select(elem.label("x")).select_from(frm).order_by(sa.literal_column("jt.o"))
        arr: Any = sa.select(agg).select_from(ordered.subquery("e")).scalar_subquery()
        jdoc = sa.cast(doc, _JSONB)
        at: Any = sa.literal_column(_pg_path(mask.path))
        setter = sa.func.jsonb_set(jdoc, at, arr, sa.false())
        is_array = sa.func.jsonb_typeof(jdoc.op("#>")(at)) == "array"
        return sa.case((is_array, _as_type(setter, mask.sql_type)), else_=doc)
    quoted = sa.func.coalesce(sa.func.json_quote(masked), "null")
    if dialect == "mysql":
        original = sa.func.json_extract(
            doc,
            sa.func.concat("$." + ".".join(mask.path) + "[", sa.literal_column("jt.o") - 1, "]"),
        )
        elem = sa.case((hit, quoted), else_=original)
        body = _GroupConcat(elem, sa.literal_column("jt.o"))
        arr = sa.select(sa.func.concat("[", sa.func.coalesce(body, ""), "]")).select_from(frm)
        as_json = sa.func.json_extract(arr.scalar_subquery(), "$")
        return sa.func.json_set(doc, sa.literal_column(_js_path(mask.path)), as_json)
    kind: Any = sa.literal_column("jt.type")
    keep = sa.case(
        (kind == "text", sa.func.json_quote(text)),
        (kind == "null", "null"),
        (kind == "true", "true"),
        (kind == "false", "false"),
        else_=text,
    )
    elem = sa.case((sa.and_(kind == "text", hit), quoted), else_=keep)
    joined = sa.func.coalesce(sa.func.group_concat(elem, ","), "")
    arr = sa.select(sa.literal("[").op("||")(joined).op("||")("]")).select_from(frm)
    return sa.func.json_set(
        doc, sa.literal_column(_js_path(mask.path)), sa.func.json(arr.scalar_subquery())
    )


class _Jsonb(sa.types.UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"


_JSONB = _Jsonb()
_NULL_JSONB: Any = sa.literal_column("'null'::jsonb")


class _Named(sa.types.UserDefinedType[Any]):
    cache_ok = True

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def get_col_spec(self, **kw: Any) -> str:
        return self.spec


def _as_type(expr: sa.ColumnElement[Any], sql_type: str | None) -> sa.ColumnElement[Any]:
    """A jsonb result cast back to the column's own type (json or text columns)."""
    spec = (sql_type or "jsonb").lower()
    if spec == "jsonb":
        return expr
    name = "JSON" if spec == "json" else "TEXT"
    return sa.cast(expr, _Named(name))


class _GroupConcat(sa.sql.expression.ColumnElement[Any]):
    """MariaDB ``GROUP_CONCAT(expr ORDER BY key SEPARATOR ',')``."""

    inherit_cache = True

    def __init__(self, expr: sa.ColumnElement[Any], order: sa.ColumnElement[Any]) -> None:
        self.expr = expr
        self.order = order
        self.type = sa.String()


@compiles(_GroupConcat)
def _compile_group_concat(element: _GroupConcat, compiler: SQLCompiler, **kw: Any) -> str:
    expr = compiler.process(element.expr, **kw)
    order = compiler.process(element.order, **kw)
    return f"GROUP_CONCAT({expr} ORDER BY {order} SEPARATOR ',')"

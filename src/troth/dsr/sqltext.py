"""The SQL a plan will run, rendered with placeholders (``:keys``) and never with values.

Rendered from the same SQLAlchemy Core constructs and masking strategies the executor uses, in
SQLAlchemy's generic dialect; a store's own dialect quotes and binds the same statement its way.
The text depends on its arguments only (tuples), so it is rendered once per shape and process:
rendering was most of the time to build a plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultDialect

from troth.masking import MASKING, MaskContext

_DIALECT = DefaultDialect()
_PLACEHOLDER_KEY = b"<troth secret key>"


def _render(stmt: sa.ClauseElement) -> str:
    text = str(stmt.compile(dialect=_DIALECT))
    return " ".join(text.replace("(__[POSTCOMPILE_keys])", "(:keys)").split())


def _in(t: sa.TableClause, column: str) -> sa.ColumnElement[bool]:
    return t.c[column].in_(sa.bindparam("keys", expanding=True))


@lru_cache(maxsize=4096)
def select_sql(
    table: str,
    columns: Sequence[str],
    key: str,
    form: str | None = None,
    scope: Sequence[tuple[str, str]] = (),
) -> str:
    """``SELECT <columns> FROM table WHERE key IN (:keys) [AND scope = :scope]``; an identity
    column is compared by its normal form (``troth_norm('email', email)``)."""
    cols = dict.fromkeys([*columns, key, *(c for _, c in scope)])
    t = sa.table(table, *(sa.column(c) for c in cols))
    col: sa.ColumnElement[object] = t.c[key]
    if form is not None:
        col = sa.func.troth_norm(sa.literal_column(f"'{form}'"), col)
    where: list[sa.ColumnElement[bool]] = [col.in_(sa.bindparam("keys", expanding=True))]
    where += [t.c[c] == sa.bindparam(name) for name, c in scope]
    return _render(sa.select(*(t.c[c] for c in columns)).where(*where))


def _key_in(t: sa.TableClause, key: Sequence[str]) -> sa.ColumnElement[bool]:
    if len(key) == 1:
        return _in(t, key[0])
    return sa.tuple_(*(t.c[c] for c in key)).in_(sa.bindparam("keys", expanding=True))


@lru_cache(maxsize=4096)
def delete_sql(table: str, key: Sequence[str]) -> str:
    t = sa.table(table, *(sa.column(c) for c in key))
    return _render(sa.delete(t).where(_key_in(t, key)))


@lru_cache(maxsize=4096)
def mask_sql(table: str, masks: Sequence[tuple[str, str]], key: Sequence[str]) -> str:
    """``UPDATE table SET col = <strategy SQL>, ... WHERE key IN (:keys)``."""
    t = sa.table(table, *(sa.column(c) for c in dict.fromkeys([*key, *(f for f, _ in masks)])))
    ctx = MaskContext(key=_PLACEHOLDER_KEY, dialect="generic")
    strategies = {f: {"auto": "redact", "auto_null": "null"}.get(m, m) for f, m in masks}
    values = {t.c[f]: MASKING.get(m).sql(t.c[f], ctx) for f, m in strategies.items()}
    return _render(sa.update(t).where(_key_in(t, key)).values(values))

"""The SQL a plan will run, rendered with placeholders (``:keys``) and never with values.

Rendered from the same SQLAlchemy Core constructs and masking strategies the executor uses, in
SQLAlchemy's generic dialect; a store's own dialect quotes and binds the same statement its way.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def select_sql(table: str, columns: Sequence[str], key: str) -> str:
    """``SELECT <columns> FROM table WHERE key IN (:keys)``."""
    t = sa.table(table, *(sa.column(c) for c in dict.fromkeys([*columns, key])))
    return _render(sa.select(*(t.c[c] for c in columns)).where(_in(t, key)))


def delete_sql(table: str, key: str) -> str:
    t = sa.table(table, sa.column(key))
    return _render(sa.delete(t).where(_in(t, key)))


def mask_sql(table: str, masks: Sequence[tuple[str, str]], key: str) -> str:
    """``UPDATE table SET col = <strategy SQL>, ... WHERE key IN (:keys)``."""
    t = sa.table(table, *(sa.column(c) for c in dict.fromkeys([key, *(f for f, _ in masks)])))
    ctx = MaskContext(key=_PLACEHOLDER_KEY, dialect="generic")
    values = {t.c[f]: MASKING.get(m).sql(t.c[f], ctx) for f, m in masks}
    return _render(sa.update(t).where(_in(t, key)).values(values))

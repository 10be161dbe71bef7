"""A person's identifiers written in free text: found and redacted by the database.

A mention is the identifier as a whole token: ``ada@example.com`` is mentioned in "write to
Ada@Example.com." but not in "xada@example.com" or "ada@example.com.au" (someone else's
identifiers are never touched). Letters compare without case. The identifier travels as a bound
parameter inside a regular expression built here (its punctuation escaped), never in the SQL text:

* PostgreSQL: ``col ~* :pattern`` and ``regexp_replace(col, :pattern, :with, 'gi')``;
* MariaDB/MySQL: ``col REGEXP :pattern`` and ``REGEXP_REPLACE(col, :pattern, :with)`` (PCRE,
  ``(?i)``);
* SQLite: the functions ``troth_mentions(text, pattern)`` and ``troth_redact(text, pattern,
  with)``, registered on every connection (Python's ``re``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

#: ASCII punctuation escaped in an identifier (a backslash before it is literal in PostgreSQL's
#: and PCRE's syntax alike); letters, digits and non-ASCII characters stay as they are
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def pattern(value: str, dialect: str) -> str:
    """The regular expression of ``value`` as a whole token, for ``dialect``."""
    if dialect == "sqlite":
        return rf"(?<![\w.@+-]){re.escape(value)}(?![\w@-]|\.\w)"
    body = _PUNCT.sub(r"\\\1", value)
    core = rf"(?<![[:alnum:]_.@+-]){body}(?![[:alnum:]_@-]|\.[[:alnum:]])"
    return "(?i)" + core if dialect == "mysql" else core


def _bind(value: str) -> sa.BindParameter[str]:
    return sa.bindparam(None, value, type_=sa.String(), unique=True)


def mentioned(
    col: sa.ColumnElement[Any], values: Sequence[str], dialect: str
) -> sa.ColumnElement[bool]:
    """Whether the text in ``col`` mentions any of ``values``."""
    conds: list[sa.ColumnElement[bool]] = []
    for v in values:
        p = _bind(pattern(v, dialect))
        if dialect == "postgresql":
            conds.append(col.op("~*")(p))
        elif dialect == "mysql":
            conds.append(col.op("REGEXP")(p))
        else:
            conds.append(sa.func.troth_mentions(col, p) == 1)
    return sa.or_(*conds) if conds else sa.false()


def redacted(
    col: sa.ColumnElement[Any], values: Sequence[str], dialect: str, replacement: str
) -> sa.ColumnElement[Any]:
    """The text in ``col`` with every mention of ``values`` replaced by ``replacement``."""
    out: sa.ColumnElement[Any] = col
    for v in values:
        p = _bind(pattern(v, dialect))
        r = _bind(replacement.replace("\\", "\\\\"))
        if dialect == "postgresql":
            out = sa.func.regexp_replace(out, p, r, "gi")
        elif dialect == "mysql":
            out = sa.func.regexp_replace(out, p, r)
        else:
            out = sa.func.troth_redact(out, p, _bind(replacement))
    return out


@lru_cache(maxsize=256)
def _compiled(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE)


def _sqlite_mentions(text: object, p: str) -> int | None:
    if text is None:
        return None
    return 1 if _compiled(p).search(str(text)) else 0


def _sqlite_redact(text: object, p: str, replacement: str) -> object:
    if text is None:
        return None
    return _compiled(p).sub(lambda _m: replacement, str(text))


def install_sqlite_mention_functions(engine: Engine) -> None:
    """Register ``troth_mentions`` and ``troth_redact`` on every SQLite connection."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _register(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function("troth_mentions", 2, _sqlite_mentions, deterministic=True)
        dbapi_conn.create_function("troth_redact", 3, _sqlite_redact, deterministic=True)

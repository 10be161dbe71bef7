"""Rows to classify, read by the database's own sampling: a stratified sample (one slice per
stratum of an integer primary key, an index range scan each), a random fraction filtered in the
database, or the whole table streamed in batches with constant memory.

Only the columns asked for are read, and only :mod:`troth.discovery.classify` ever sees the
values: they are counted, never stored, logged or reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from troth.connectors.base import TableInfo
from troth.connectors.sql import SqlConnector

#: rows per fetch when a whole table is streamed
STREAM_BATCH = 5000


@dataclass(frozen=True)
class Sampling:
    """How many rows of each table to read, and how.

    ``size`` rows per table, in ``strata`` equal slices of an integer primary key's range (the
    first ``size / strata`` rows from the start of each slice); a table without one gives a
    ``rate`` fraction of its rows chosen at random by the database (``None``: its first rows);
    ``full`` reads every row (streamed).
    """

    size: int = 500
    strata: int = 10
    rate: float | None = None
    full: bool = False


def _int_key(table: TableInfo) -> str | None:
    if len(table.primary_key) != 1:
        return None
    col = table.column(table.primary_key[0])
    return col.name if col is not None and "int" in col.type.lower() else None


def _random_below(dialect: str, rate: float) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return sa.func.random() < rate
    if dialect == "mysql":
        return sa.func.rand() < rate
    # SQLite: random() is a 64-bit integer
    return (sa.func.abs(sa.func.random()) % 1_000_000) < int(rate * 1_000_000)


def sample_rows(
    conn: SqlConnector, table: TableInfo, columns: Sequence[str], sampling: Sampling
) -> Iterator[Sequence[Any]]:
    """The sampled rows of ``columns`` (each a sequence in that order)."""
    key = None if sampling.full else _int_key(table)
    names = dict.fromkeys([*columns, *([key] if key else [])])
    t = sa.table(table.name, *(sa.column(c) for c in names))
    cols = [t.c[c] for c in columns]
    dialect = conn.engine.dialect.name
    with conn._mapped("sample rows", table.name), conn.engine.connect() as db:
        if sampling.full:
            result = db.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
                sa.select(*cols)
            )
            for part in result.partitions():
                yield from part
            return
        if key is not None:
            kc = t.c[key]
            lo, hi = db.execute(sa.select(sa.func.min(kc), sa.func.max(kc))).one()
            if lo is None:
                return
            strata = max(1, min(sampling.strata, sampling.size))
            per = math.ceil(sampling.size / strata)
            step = (int(hi) - int(lo) + 1) / strata
            seen_to = None
            for i in range(strata):
                start = int(lo) + math.floor(i * step)
                if seen_to is not None and start <= seen_to:
                    start = seen_to + 1  # a slice never re-reads the previous slice's rows
                stmt = sa.select(*cols, kc).where(kc >= start).order_by(kc).limit(per)
                rows = db.execute(stmt).all()
                if rows:
                    seen_to = rows[-1][-1]
                yield from (r[:-1] for r in rows)
            return
        stmt = sa.select(*cols)
        if sampling.rate is not None:
            stmt = stmt.where(_random_below(dialect, sampling.rate))
        yield from db.execute(stmt.limit(sampling.size)).all()

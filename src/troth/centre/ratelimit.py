"""Fixed-window rate limits kept in troth's state DB, so every process of ``troth serve`` shares
them. A bucket is a keyed hash (of an identity, or of a client address), never the value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from troth.centre.models import CentreRate
from troth.store.db import connect

TABLE: sa.Table = CentreRate.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Limit:
    """At most *count* attempts per *seconds* for one bucket."""

    count: int
    seconds: int


def hit(engine: Engine, bucket: str, limit: Limit, *, now: float | None = None) -> bool:
    """Count one attempt for *bucket*; ``False`` when it is over the limit (one statement, atomic
    on SQLite and PostgreSQL)."""
    slot = int((now if now is not None else time.time()) // limit.seconds)
    values = {"bucket": bucket, "slot": slot, "count": 1}
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(TABLE)
    stmt = (
        insert.values(**values)
        .on_conflict_do_update(index_elements=["bucket", "slot"], set_={"count": TABLE.c.count + 1})
        .returning(TABLE.c.count)
    )
    with connect(engine) as conn, conn.begin():
        count = int(conn.execute(stmt).scalar_one())
        if count == 1:  # first hit of a new window: drop this bucket's old windows
            conn.execute(sa.delete(TABLE).where(TABLE.c.bucket == bucket, TABLE.c.slot < slot))
    return count <= limit.count

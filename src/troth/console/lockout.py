"""Lock-out after repeated failed sign-ins, per user name and per client address.

Counters are keyed hashes (HMAC under a key derived from troth's secret) of ``name:<user name>``
and ``ip:<address>``, so the table holds neither. A name with :data:`USER_LIMIT` failures within
:data:`WINDOW` is locked for :data:`LOCK`, even with the right password; an address with
:data:`IP_LIMIT` failures likewise. A successful sign-in clears the name's counter only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from troth.centre.crypto import derive
from troth.console.models import ConsoleAttempt
from troth.store.db import connect

USER_LIMIT = 5
IP_LIMIT = 20
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
TABLE: sa.Table = ConsoleAttempt.__table__  # type: ignore[assignment]


class Lockout:
    def __init__(self, engine: Engine, secret: bytes, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self._key = derive(secret, "console lockout")
        self.clock = clock

    def keys(self, name: str, ip: str | None) -> list[tuple[str, int]]:
        """The counters a sign-in attempt counts against, with their limits."""
        out = [(self._hash("name:" + name.strip().lower()), USER_LIMIT)]
        if ip:
            out.append((self._hash("ip:" + ip), IP_LIMIT))
        return out

    def _hash(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def locked(self, name: str, ip: str | None) -> bool:
        now = self.clock().isoformat()
        hashes = [k for k, _ in self.keys(name, ip)]
        with connect(self.engine) as conn:
            row = conn.execute(
                sa.select(TABLE.c.key).where(TABLE.c.key.in_(hashes), TABLE.c.locked_until > now)
            ).first()
        return row is not None

    def failed(self, name: str, ip: str | None) -> bool:
        """Count a failure; True when it locked a counter. Safe when failures race: the row is
        locked (SQLite: the write lock up front), a first row inserted twice is counted again."""
        now = self.clock()
        locked = False
        with connect(self.engine, write_lock=True) as conn, conn.begin():
            for key, limit in self.keys(name, ip):
                failures = self._count(conn, key, now)
                if failures >= limit:
                    locked = True
                    conn.execute(
                        sa.update(TABLE)
                        .where(TABLE.c.key == key)
                        .values(locked_until=(now + LOCK).isoformat())
                    )
        return locked

    @staticmethod
    def _count(conn: Connection, key: str, now: datetime) -> int:
        """Add one failure to *key*'s counter (a new window when the last one passed)."""
        select = sa.select(TABLE).where(TABLE.c.key == key).with_for_update()
        row = conn.execute(select).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(TABLE).values(
                            key=key, failures=1, first_at=now.isoformat(), locked_until=None
                        )
                    )
                return 1
            except sa.exc.IntegrityError:  # another failure inserted it first
                row = conn.execute(select).one()
        values: dict[str, object]
        if datetime.fromisoformat(row.first_at) + WINDOW < now:
            failures = 1
            values = {"failures": 1, "first_at": now.isoformat(), "locked_until": None}
        else:
            failures = int(row.failures) + 1
            values = {"failures": failures}
        conn.execute(sa.update(TABLE).where(TABLE.c.key == key).values(**values))
        return failures

    def succeeded(self, name: str) -> None:
        key = self.keys(name, None)[0][0]
        with connect(self.engine) as conn, conn.begin():
            conn.execute(sa.delete(TABLE).where(TABLE.c.key == key))

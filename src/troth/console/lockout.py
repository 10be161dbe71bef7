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
from sqlalchemy.engine import Engine

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
        """Count a failure; True when it locked a counter."""
        now = self.clock()
        locked = False
        with connect(self.engine) as conn, conn.begin():
            for key, limit in self.keys(name, ip):
                row = conn.execute(sa.select(TABLE).where(TABLE.c.key == key)).first()
                if row is None or datetime.fromisoformat(row.first_at) + WINDOW < now:
                    failures, first = 1, now.isoformat()
                else:
                    failures, first = row.failures + 1, row.first_at
                values = {
                    "failures": failures,
                    "first_at": first,
                    "locked_until": (now + LOCK).isoformat() if failures >= limit else None,
                }
                locked |= failures >= limit
                if row is None:
                    conn.execute(sa.insert(TABLE).values(key=key, **values))
                else:
                    conn.execute(sa.update(TABLE).where(TABLE.c.key == key).values(**values))
        return locked

    def succeeded(self, name: str) -> None:
        key = self.keys(name, None)[0][0]
        with connect(self.engine) as conn, conn.begin():
            conn.execute(sa.delete(TABLE).where(TABLE.c.key == key))

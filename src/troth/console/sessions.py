"""Console sessions: a random id in the cookie, its SHA-256 in the state DB.

A session ends after :data:`IDLE` without a request, after :data:`ABSOLUTE` in any case, at
logout, and when the user's password changes or the user is disabled. Signing in always makes a
new id and ends the session the browser presented (no fixation).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.console.models import ConsoleSession, ConsoleUser
from troth.store.db import connect

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
#: seen_at is written at most this often (a page view is not a write each time)
TOUCH = timedelta(seconds=60)
SESSIONS: sa.Table = ConsoleSession.__table__  # type: ignore[assignment]
USERS: sa.Table = ConsoleUser.__table__  # type: ignore[assignment]


def id_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """The signed-in user of a request."""

    user_id: str
    name: str
    role: str
    session: str  # the id's hash

    @property
    def audit(self) -> str:
        return f"user:{self.user_id}"


class Sessions:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        idle: timedelta = IDLE,
        absolute: timedelta = ABSOLUTE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.idle = idle
        self.absolute = absolute

    def start(self, user_id: str, previous: str | None = None) -> str:
        """A new session for *user_id*; the token for the cookie. *previous*: the token the
        browser presented, ended here."""
        token = secrets.token_urlsafe(32)
        now = self.clock().isoformat()
        with connect(self.engine) as conn, conn.begin():
            if previous:
                conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.id_hash == id_hash(previous)))
            conn.execute(
                sa.insert(SESSIONS).values(
                    id_hash=id_hash(token), user_id=user_id, created_at=now, seen_at=now
                )
            )
        return token

    def lookup(self, token: str | None) -> Actor | None:
        """The session's user, when the session is alive and the user enabled; touches it."""
        if not token or len(token) > 100:
            return None
        key = id_hash(token)
        stmt = (
            sa.select(SESSIONS, USERS.c.name, USERS.c.role, USERS.c.disabled_at)
            .join(USERS, USERS.c.id == SESSIONS.c.user_id)
            .where(SESSIONS.c.id_hash == key)
        )
        now = self.clock()
        with connect(self.engine) as conn:
            row = conn.execute(stmt).first()
            if row is None:
                return None
            created = datetime.fromisoformat(row.created_at)
            seen = datetime.fromisoformat(row.seen_at)
            if row.disabled_at or now - created > self.absolute or now - seen > self.idle:
                conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.id_hash == key))
                conn.commit()
                return None
            if now - seen > TOUCH:
                conn.execute(
                    sa.update(SESSIONS)
                    .where(SESSIONS.c.id_hash == key)
                    .values(seen_at=now.isoformat())
                )
                conn.commit()
        return Actor(row.user_id, row.name, row.role, key)

    def end(self, token: str | None) -> None:
        if token:
            with connect(self.engine) as conn, conn.begin():
                conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.id_hash == id_hash(token)))

    def sweep(self) -> int:
        """Delete sessions past their idle or absolute end; returns how many."""
        now = self.clock()
        stmt = sa.delete(SESSIONS).where(
            sa.or_(
                SESSIONS.c.seen_at < (now - self.idle).isoformat(),
                SESSIONS.c.created_at < (now - self.absolute).isoformat(),
            )
        )
        with connect(self.engine) as conn, conn.begin():
            return int(conn.execute(stmt).rowcount or 0)

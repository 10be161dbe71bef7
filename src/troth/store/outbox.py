"""The transactional outbox: jobs written in the same transaction as the state change that asks
for them, relayed to the task engine afterwards.

A state change (a request approved, a webhook to send) writes one ``worker_outbox`` row on the
connection of its own transaction (:func:`emit`), so the change and the job commit together or not
at all: no job is lost between the commit and the enqueue. A relay (:mod:`troth.worker.relay`)
claims pending rows, hands them to the engine, and marks them sent; a relay that dies after the
hand-over and before the mark sends them again, so jobs are idempotent (at-least-once).

Rows carry ids and statuses, never personal data. The module is generic: it knows topics and JSON
payloads, not what the jobs do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from troth.store.db import JOBS_FLAG, connect, is_sqlite
from troth.store.models import Base, BigInt

#: how long a claimed row is left to its claimer before another relay may take it
LEASE = timedelta(minutes=15)
#: PostgreSQL channel notified (on commit) when a row is written: relays wake at once
CHANNEL = "troth_outbox"
#: ``Connection.info`` key: the transaction that already sent its NOTIFY (the server delivers
#: one per channel and transaction anyway; each more is a round trip for nothing)
_NOTIFIED = "troth_outbox_notified"


class OutboxRow(Base):
    """One job to relay to the task engine."""

    __tablename__ = "worker_outbox"
    __table_args__ = (sa.Index("ix_worker_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(sa.String(60))
    #: JSON: ids and statuses only
    payload: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[str] = mapped_column(sa.String(32))
    #: not relayed before this time (delayed jobs, back-off); NULL: at once
    not_before: Mapped[str | None] = mapped_column(sa.String(32))
    #: a relay holds the row until then (embedded mode runs the job under the lease)
    claimed_until: Mapped[str | None] = mapped_column(sa.String(32))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    sent_at: Mapped[str | None] = mapped_column(sa.String(32))
    #: why the last attempt failed (a TrothError's one line: no personal data)
    error: Mapped[str | None] = mapped_column(sa.Text)


TABLE: sa.Table = OutboxRow.__table__  # type: ignore[assignment]


def now() -> datetime:
    return datetime.now(UTC)


def stamp(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Message:
    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int


#: hands a message's jobs to the task engine on the writing transaction's connection; True when
#: it did (the row is then written as sent). Set per state database by
#: :func:`hand_over_in_transaction` (see :mod:`troth.worker.direct`).
HandOver = Callable[[Connection, "Message"], bool]
_HAND_OVER: dict[tuple[str, int, str], HandOver] = {}


def database_key(url: str | sa.URL) -> tuple[str, int, str]:
    """A PostgreSQL database's identity in a URL: (host, port, database name)."""
    parsed = sa.make_url(url)
    return (parsed.host or "", parsed.port or 5432, parsed.database or "")


def hand_over_in_transaction(url: str | sa.URL, hand_over: HandOver | None) -> None:
    """From now on (None: no longer), jobs written to the state DB at *url* in this process are
    given to *hand_over* inside their own transaction instead of waiting for a relay."""
    key = database_key(url)
    if hand_over is None:
        _HAND_OVER.pop(key, None)
    else:
        _HAND_OVER[key] = hand_over


def emit(
    conn: Connection, topic: str, payload: Mapping[str, Any], *, not_before: datetime | None = None
) -> None:
    """Write a job on *conn*, inside the caller's transaction (it commits with the state change).

    PostgreSQL state whose task queue is the same database (:func:`hand_over_in_transaction`):
    the jobs are deferred in this transaction too and the row is written as sent, so no relay
    hop; a hand-over that fails leaves the row pending for the relay, as everywhere else."""
    data = json.dumps(dict(payload), sort_keys=True)
    at = stamp(now())
    hand_over = None
    if _HAND_OVER and not_before is None and conn.dialect.name == "postgresql":
        hand_over = _HAND_OVER.get(database_key(conn.engine.url))
    if hand_over is not None:
        row_id = conn.execute(
            sa.insert(TABLE)
            .values(topic=topic, payload=data, created_at=at, attempts=1, sent_at=at)
            .returning(TABLE.c.id)
        ).scalar_one()
        if hand_over(conn, Message(int(row_id), topic, json.loads(data), 1)):
            return
        conn.execute(sa.update(TABLE).where(TABLE.c.id == row_id).values(sent_at=None, attempts=0))
    else:
        conn.execute(
            sa.insert(TABLE).values(
                topic=topic,
                payload=data,
                created_at=at,
                not_before=stamp(not_before) if not_before else None,
                attempts=0,
            )
        )
    if conn.dialect.name == "postgresql":  # delivered when the transaction commits
        tx = conn.get_nested_transaction() or conn.get_transaction()  # a savepoint may roll back
        if tx is None or conn.info.get(_NOTIFIED) is not tx:  # once per transaction is enough
            conn.exec_driver_sql(f"NOTIFY {CHANNEL}")
            conn.info[_NOTIFIED] = tx
    conn.info[JOBS_FLAG] = True  # wakes this process's embedded jobs thread when it ends


def claim(engine: Engine, *, limit: int = 100, lease: timedelta = LEASE) -> list[Message]:
    """Take up to *limit* due rows for this relay (committed claims: another relay skips them
    until the lease ends; PostgreSQL skips rows another relay is claiming right now)."""
    at = now()
    ts = stamp(at)
    due = sa.and_(
        TABLE.c.sent_at.is_(None),
        sa.or_(TABLE.c.not_before.is_(None), TABLE.c.not_before <= ts),
        sa.or_(TABLE.c.claimed_until.is_(None), TABLE.c.claimed_until <= ts),
    )
    stmt = sa.select(TABLE.c.id, TABLE.c.topic, TABLE.c.payload, TABLE.c.attempts).where(due)
    stmt = stmt.order_by(TABLE.c.id).limit(limit)
    with connect(engine, write_lock=True) as conn, conn.begin():
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if rows:
            conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id.in_([r.id for r in rows]))
                .values(claimed_until=stamp(at + lease), attempts=TABLE.c.attempts + 1)
            )
    return [Message(r.id, r.topic, json.loads(r.payload), r.attempts + 1) for r in rows]


def relay_batch(engine: Engine, send: Callable[[Message], None], *, limit: int = 100) -> int:
    """PostgreSQL: take up to *limit* due rows under row locks (other relays skip them), hand each
    to *send*, and mark them sent, all in one transaction; returns how many were sent.

    One commit per batch instead of a claim and a mark. A relay that dies (or a *send* that
    raises) before the commit leaves its rows pending: the locks die with the transaction and
    another relay sends them again, so a job may be handed over twice (at-least-once), never lost.
    """
    at = now()
    ts = stamp(at)
    due = sa.and_(
        TABLE.c.sent_at.is_(None),
        sa.or_(TABLE.c.not_before.is_(None), TABLE.c.not_before <= ts),
        sa.or_(TABLE.c.claimed_until.is_(None), TABLE.c.claimed_until <= ts),
    )
    stmt = sa.select(TABLE.c.id, TABLE.c.topic, TABLE.c.payload, TABLE.c.attempts).where(due)
    stmt = stmt.order_by(TABLE.c.id).limit(limit).with_for_update(skip_locked=True)
    with connect(engine) as conn, conn.begin():
        rows = conn.execute(stmt).all()
        for r in rows:
            send(Message(r.id, r.topic, json.loads(r.payload), r.attempts + 1))
        if rows:
            conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id.in_([r.id for r in rows]))
                .values(
                    sent_at=stamp(now()),
                    claimed_until=None,
                    error=None,
                    attempts=TABLE.c.attempts + 1,
                )
            )
    return len(rows)


def mark_sent(engine: Engine, ids: list[int]) -> None:
    if not ids:
        return
    with connect(engine) as conn, conn.begin():
        conn.execute(
            sa.update(TABLE)
            .where(TABLE.c.id.in_(ids))
            .values(sent_at=stamp(now()), claimed_until=None, error=None)
        )


def release(engine: Engine, msg_id: int, *, retry_at: datetime | None, error: str) -> None:
    """Give a row back after a failed attempt: pending again from *retry_at* (None: never,
    the row is kept as failed for the operator)."""
    values: dict[str, Any] = {"claimed_until": None, "error": error[:2000]}
    if retry_at is None:
        values["sent_at"] = "failed"
    else:
        values["not_before"] = stamp(retry_at)
    with connect(engine) as conn, conn.begin():
        conn.execute(sa.update(TABLE).where(TABLE.c.id == msg_id).values(**values))


def release_claims(engine: Engine) -> None:
    """Free every claim (the embedded worker starting: it is the only claimer, its claims died
    with the process before it)."""
    with connect(engine) as conn, conn.begin():
        conn.execute(
            sa.update(TABLE)
            .where(TABLE.c.sent_at.is_(None), TABLE.c.claimed_until.is_not(None))
            .values(claimed_until=None)
        )


def pending(engine: Engine) -> int:
    """Rows not relayed yet (claimed or not)."""
    with connect(engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(TABLE).where(TABLE.c.sent_at.is_(None))
            ).scalar_one()
        )

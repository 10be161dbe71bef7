"""Transactional enqueue: when Procrastinate's queue lives in troth's state database, a state
change defers its jobs in its own transaction, so they commit together and no relay hop is needed.

:func:`install` registers the hand-over with :func:`troth.store.outbox.hand_over_in_transaction`
for this process. :func:`troth.store.outbox.emit` then writes the outbox row as already sent and
calls :func:`defer_in_transaction` on the same connection: the jobs the row asks for
(:func:`troth.worker.jobs.jobs_for`, read on that connection, so it sees the transaction's own
writes; a row that asks for none costs no more) are inserted with Procrastinate's deferrer bound
to that connection, each under a savepoint (a waiting copy with the same queueing lock is left
alone: one run serves both).
Procrastinate's insert trigger notifies the workers when the transaction commits. A hand-over
that fails (the queue's tables not created yet, a psycopg 2 driver) rolls back its savepoint and
leaves the row pending for the relay, so the outbox guarantee still holds.

Other set-ups (a separate queue database, SQLite state, the embedded mode) keep the outbox and
its relay alone.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

import procrastinate
import psycopg
from procrastinate import exceptions as pexc
from sqlalchemy.engine import Connection

from troth.store import outbox
from troth.worker.jobs import jobs_for

log = logging.getLogger("troth.worker")

#: the deferrer: an app whose connector is never opened (each defer brings its connection)
_APP = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


def same_database(state_url: str, queue_url: str) -> bool:
    """Whether the task queue is the PostgreSQL database of troth's state."""
    if not state_url.startswith("postgresql"):
        return False
    try:
        return outbox.database_key(state_url) == outbox.database_key(queue_url)
    except Exception:  # an unparsable URL: the engine reports it where it is used
        return False


def defer_in_transaction(conn: Connection, msg: outbox.Message) -> bool:
    """Defer *msg*'s jobs on *conn* (inside its transaction); False when it could not (the
    caller leaves the row to the relay)."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        return False
    calls = jobs_for(conn, msg)  # reads troth's own tables, on the transaction's connection
    if not calls:
        return True  # a change nobody acts on: the row, written as sent, is all
    try:
        # a savepoint: a failure here leaves the caller's work intact (one job: its own is it)
        with raw.transaction() if len(calls) > 1 else nullcontext():
            for call in calls:
                name = f"troth.{call.name}"
                task = _APP.configure_task(
                    name, lock=call.lock, queueing_lock=call.lock, connection=raw
                )
                try:
                    with raw.transaction():
                        task.defer(**call.args)
                except pexc.AlreadyEnqueued:  # a copy waits: one run serves both
                    pass
    except Exception as exc:  # the relay sends the row instead
        log.warning("outbox row %s left to the relay: %s", msg.id, str(exc).splitlines()[0])
        return False
    return True


def install(state_url: str, queue_url: str) -> bool:
    """Defer jobs in their transactions in this process when the queue is the state database;
    returns whether it does."""
    if not same_database(state_url, queue_url):
        return False
    outbox.hand_over_in_transaction(state_url, defer_in_transaction)
    return True

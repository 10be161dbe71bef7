"""The append-only, hash-chained audit ledger.

Appends serialise on the one-row ``audit_head`` table, updated in the same transaction as the
insert: PostgreSQL locks it with ``SELECT ... FOR UPDATE``, SQLite takes the write lock up front
with ``BEGIN IMMEDIATE``. So appends from many processes at once form one valid chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy.engine import Connection, Engine

from troth.audit.entry import Entry, check_fields
from troth.audit.hashing import canonical_json, entry_hash, utc_timestamp
from troth.errors import AuditError
from troth.store.db import connect, is_sqlite

COLUMNS = "seq, ts, kind, actor, subject, data, prev, hash"


class Head(NamedTuple):
    """The last entry's seq and hash (``0`` and 64 zeros for an empty ledger)."""

    seq: int
    hash: str

    def anchor(self) -> str:
        """``SEQ:HASH``, the text to publish and later pass as ``--anchor``."""
        return f"{self.seq}:{self.hash}"


class Event(NamedTuple):
    """An entry to append with :meth:`Ledger.append_many`."""

    kind: str
    data: Mapping[str, Any]
    actor: str
    subject: str | None = None


def placeholders(conn: Connection | Engine, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle in {"qmark", "numeric"} else "%s"
    return ", ".join([mark] * n)


def read_head(conn: Connection, *, for_update: bool = False) -> Head:
    sql = "SELECT seq, hash FROM audit_head WHERE id = 1"
    if for_update and not is_sqlite(conn):
        sql += " FOR UPDATE"
    row = conn.exec_driver_sql(sql).first()
    if row is None:
        raise AuditError(
            "the audit_head row is missing",
            where="audit_head",
            fix="restore the ledger from a backup; run `troth audit verify`",
        )
    return Head(int(row[0]), str(row[1]))


def stream_entries(conn: Connection) -> Iterator[tuple[Any, ...]]:
    """Every entry as a row tuple in seq order, streamed (call inside a transaction)."""
    sql = f"SELECT {COLUMNS} FROM audit_entry ORDER BY seq"
    if is_sqlite(conn):  # the raw sqlite3 cursor streams, and is ~2x faster than Row objects
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            cursor.execute(sql)
            yield from cast(Iterator[tuple[Any, ...]], cursor)
        finally:
            cursor.close()
        return
    conn.execution_options(stream_results=True, max_row_buffer=20_000)
    for part in conn.exec_driver_sql(sql).partitions(10_000):
        yield from (tuple(r) for r in part)


class Ledger:
    """The audit ledger in troth's state DB (the schema must be upgraded: ``open_store``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = f"INSERT INTO audit_entry ({COLUMNS}) VALUES ({placeholders(engine, 8)})"
        self._update = (
            f"UPDATE audit_head SET seq = {placeholders(engine, 1)}, "
            f"hash = {placeholders(engine, 1)} WHERE id = 1"
        )

    def append(
        self, kind: str, data: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Entry:
        """Append one entry; raises :class:`AuditError` when *data* holds personal data."""
        return self.append_many([Event(kind, data, actor, subject)])[0]

    def append_many(
        self, events: Iterable[Event | tuple[str, Mapping[str, Any], str, str | None]]
    ) -> list[Entry]:
        """Append several entries in ONE transaction (all or none), in the given order."""
        checked: list[tuple[str, str, str, str | None]] = []
        for kind, data, actor, subject in events:
            check_fields(kind, data, actor, subject)
            checked.append((kind, canonical_json(dict(data)), actor, subject))
        if not checked:
            return []
        with connect(self.engine, write_lock=True) as conn, conn.begin():
            head = read_head(conn, for_update=True)
            entries = _chain(head, checked)
            conn.exec_driver_sql(self._insert, [tuple(e) for e in _rows(entries)])
            conn.exec_driver_sql(self._update, (entries[-1].seq, entries[-1].hash))
        return entries

    def head(self) -> Head:
        with connect(self.engine) as conn:
            return read_head(conn)

    def tail(self, n: int = 20) -> list[Entry]:
        """The last *n* entries, oldest first."""
        with connect(self.engine) as conn:
            rows = conn.exec_driver_sql(
                f"SELECT {COLUMNS} FROM audit_entry ORDER BY seq DESC LIMIT {int(n)}"
            ).all()
        return [Entry.from_row(tuple(r)) for r in reversed(rows)]


def _chain(head: Head, checked: Sequence[tuple[str, str, str, str | None]]) -> list[Entry]:
    ts = utc_timestamp()
    prev = head.hash
    seq = head.seq
    out: list[Entry] = []
    for kind, data_json, actor, subject in checked:
        seq += 1
        digest = entry_hash(seq, ts, kind, actor, subject, data_json, prev)
        out.append(Entry(seq, ts, kind, actor, subject, data_json, prev, digest))
        prev = digest
    return out


def _rows(entries: Sequence[Entry]) -> Iterable[tuple[Any, ...]]:
    for e in entries:
        yield (e.seq, e.ts, e.kind, e.actor, e.subject, e.data_json, e.prev, e.hash)

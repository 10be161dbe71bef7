"""The append-only audit ledger, chained with a keyed MAC and anchored outside the state DB.

Appends serialise on the one-row ``audit_head`` table, updated in the same transaction as the
insert: PostgreSQL locks it with ``SELECT ... FOR UPDATE``, SQLite takes the write lock up front
with ``BEGIN IMMEDIATE``. So appends from many processes at once form one valid chain.

A state change and its audit entry commit together through :meth:`Ledger.transaction`: the caller
writes its rows on ``tx.conn`` and appends with ``tx.append``; both commit, or neither. After the
commit the new head is written to the anchor file (:mod:`troth.audit.anchor`): by the committing
thread before its caller goes on, or in a server by one background thread right after the commit
(:func:`anchor_in_background`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy.engine import Connection, Engine

from troth.audit.anchor import AnchorFile, Sink, database_id, new_anchor
from troth.audit.coverage import ref_of
from troth.audit.entry import Entry, check_fields
from troth.audit.hashing import canonical_json, entry_mac, key_id, ledger_key, utc_timestamp
from troth.errors import AuditError
from troth.store.db import connect, is_sqlite

if TYPE_CHECKING:
    from troth.config import Settings

COLUMNS = "seq, ts, kind, actor, subject, data, prev, hash, ref"
log = logging.getLogger("troth.audit")
_UPGRADE = "run `troth audit upgrade` once: it checks the old chain, then re-chains it with the MAC"
_REANCHOR = (
    "run `troth audit verify`; restore the ledger from a backup, or, if it verifies and the "
    "anchor is known to be stale, accept the ledger with `troth audit anchor --reset`"
)


class Head(NamedTuple):
    """The last entry's seq and MAC (``0`` and 64 zeros for an empty ledger)."""

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


#: an event checked and serialised: kind, canonical data, actor, subject, ref
Checked = tuple[str, str, str, str | None, str | None]


@dataclass(frozen=True)
class LedgerConfig:
    """What a ledger needs besides its database: the MAC key and where to anchor."""

    key: bytes
    key_id: str
    db: str
    anchors: AnchorFile
    sink: Sink | None

    @classmethod
    def of(cls, engine: Engine, settings: Settings | None = None) -> LedgerConfig:
        """From *settings*, else those the engine was opened with, else the environment."""
        from troth.config import Settings
        from troth.store import settings_of

        s = settings or settings_of(engine) or Settings.from_env()
        key = ledger_key(s.secret_key)
        return cls(
            key=key,
            key_id=key_id(key),
            db=database_id(engine.url),
            anchors=AnchorFile(s.ledger_anchor, key),
            sink=Sink(s.ledger_sink) if s.ledger_sink else None,
        )


class HeadRow(NamedTuple):
    seq: int
    hash: str
    key_id: str | None


def placeholders(conn: Connection | Engine, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle in {"qmark", "numeric"} else "%s"
    return ", ".join([mark] * n)


def read_head_row(conn: Connection, *, for_update: bool = False) -> HeadRow | None:
    sql = "SELECT seq, hash, key_id FROM audit_head WHERE id = 1"
    if for_update and not is_sqlite(conn):
        sql += " FOR UPDATE"
    row = conn.exec_driver_sql(sql).first()
    return None if row is None else HeadRow(int(row[0]), str(row[1]), row[2])


def read_head(conn: Connection, *, for_update: bool = False) -> Head:
    row = read_head_row(conn, for_update=for_update)
    if row is None:
        raise AuditError(
            "the audit_head row is missing",
            where="audit_head",
            fix="run `troth audit verify`, then restore the ledger from a backup",
        )
    return Head(row.seq, row.hash)


def stream_entries(conn: Connection, *, after: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every entry (``after`` its seq) as a row tuple in seq order, streamed (in a transaction)."""
    sql = f"SELECT {COLUMNS} FROM audit_entry WHERE seq > {int(after)} ORDER BY seq"
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
    options = {"stream_results": True, "max_row_buffer": 20_000}  # this statement only
    for part in conn.exec_driver_sql(sql, execution_options=options).partitions(10_000):
        yield from (tuple(r) for r in part)


def check_events(
    events: Iterable[Event | tuple[str, Mapping[str, Any], str, str | None]],
) -> list[Checked]:
    """Check and serialise events before anything is written (raises :class:`AuditError`)."""
    checked: list[Checked] = []
    for kind, data, actor, subject in events:
        check_fields(kind, data, actor, subject)
        checked.append((kind, canonical_json(dict(data)), actor, subject, ref_of(kind, data)))
    return checked


class LedgerTransaction:
    """An open write transaction holding the ledger's head lock (see :meth:`Ledger.transaction`).

    Write the state change on :attr:`conn`, append its entries with :meth:`append`; they commit
    together when the ``with`` block ends, and roll back together when it raises.
    """

    def __init__(self, ledger: Ledger, conn: Connection, head: HeadRow) -> None:
        self.conn = conn
        self._ledger = ledger
        self._head = head
        self.entries: list[Entry] = []

    @property
    def head(self) -> Head:
        return Head(self._head.seq, self._head.hash)

    def append(
        self, kind: str, data: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Entry:
        return self.append_many([Event(kind, data, actor, subject)])[0]

    def append_many(
        self, events: Iterable[Event | tuple[str, Mapping[str, Any], str, str | None]]
    ) -> list[Entry]:
        return self.append_checked(check_events(events))

    def append_checked(self, checked: Sequence[Checked]) -> list[Entry]:
        """Append events already passed through :func:`check_events`."""
        if not checked:
            return []
        key = self._ledger.config.key
        entries = _chain(key, self.head, checked)
        rows = [tuple(_row(e)) for e in entries]
        self.conn.exec_driver_sql(self._ledger.insert_sql, rows)
        self._head = HeadRow(entries[-1].seq, entries[-1].hash, self._ledger.config.key_id)
        self.entries += entries
        return entries

    def _finish(self) -> None:
        if self.entries:
            h = self._head
            self.conn.exec_driver_sql(self._ledger.update_sql, (h.seq, h.hash, h.key_id))


#: the thread that writes anchors after commits in a server (None: the committing thread)
_BACKGROUND: ThreadPoolExecutor | None = None
_BACKGROUND_LOCK = threading.Lock()


def anchor_in_background(enabled: bool) -> None:
    """Anchors written by one background thread right after each commit (a server: an HTTP
    response, or the next step of a request, does not wait for the anchor's fsync), or by the
    committing thread again (the default; disabling first writes the anchors still queued).

    The head is anchored as soon as it would be by the committing thread, in commit order (an
    older head never replaces a newer one in the file). A process that dies loses at most the
    anchors not yet written, as one that dies right after a commit does: the anchor is then
    behind the ledger, which verifies, and the next commit anchors the newest head."""
    global _BACKGROUND
    with _BACKGROUND_LOCK:
        old, _BACKGROUND = _BACKGROUND, None
        if enabled:
            _BACKGROUND = old or ThreadPoolExecutor(1, thread_name_prefix="troth-anchor")
            return
    if old is not None:
        old.shutdown(wait=True)


def flush_background_anchors() -> None:
    """Wait until the anchors queued so far are written (none queued: at once)."""
    background = _BACKGROUND
    if background is not None:
        with contextlib.suppress(RuntimeError):  # shut down meanwhile: it wrote them
            background.submit(lambda: None).result()


class Ledger:
    """The audit ledger in troth's state DB (the schema must be upgraded: ``open_store``).

    The MAC key and the anchor come from *settings*, else from the settings the engine was
    opened with (``open_store(settings)``), else from the environment (``Settings.from_env``).
    """

    def __init__(self, engine: Engine, *, settings: Settings | None = None) -> None:
        self.engine = engine
        self._settings = settings
        self._config: LedgerConfig | None = None
        self._anchor_ready = False
        # anchors are coalesced: the newest committed head waits here for the thread writing one
        self._pending: Head | None = None
        self._pending_lock = threading.Lock()
        self._anchoring = threading.Lock()
        self.insert_sql = f"INSERT INTO audit_entry ({COLUMNS}) VALUES ({placeholders(engine, 9)})"
        self.update_sql = (
            f"UPDATE audit_head SET seq = {placeholders(engine, 1)}, "
            f"hash = {placeholders(engine, 1)}, key_id = {placeholders(engine, 1)} WHERE id = 1"
        )

    @property
    def config(self) -> LedgerConfig:
        if self._config is None:
            self._config = LedgerConfig.of(self.engine, self._settings)
        return self._config

    def append(
        self, kind: str, data: Mapping[str, Any], *, actor: str, subject: str | None = None
    ) -> Entry:
        """Append one entry; raises :class:`AuditError` when *data* holds personal data."""
        return self.append_many([Event(kind, data, actor, subject)])[0]

    def append_many(
        self, events: Iterable[Event | tuple[str, Mapping[str, Any], str, str | None]]
    ) -> list[Entry]:
        """Append several entries in ONE transaction (all or none), in the given order."""
        checked = check_events(events)
        if not checked:
            return []
        with self.transaction() as tx:
            return tx.append_checked(checked)

    @contextlib.contextmanager
    def transaction(self, *, anchor: bool = True) -> Iterator[LedgerTransaction]:
        """A write transaction that holds the head lock from its start, for a state change and
        its audit entries; anchors the new head after the commit (with ``anchor=False`` the
        caller calls :meth:`flush_anchor` itself, e.g. after releasing its own locks).

        Refuses (:class:`AuditError`, before any write) when the ledger cannot be appended to
        safely: an unkeyed troth 0.1 ledger, another process's secret, an anchor file that
        cannot be written, or a ledger that no longer matches its anchor (truncated, rewritten
        or restored).
        """
        cfg = self.config
        if not self._anchor_ready:
            cfg.anchors.ensure_writable()
            self._anchor_ready = True
        with connect(self.engine, write_lock=True) as conn, conn.begin():
            head = read_head_row(conn, for_update=True)
            if head is None:
                read_head(conn)  # raises the missing-head error
                raise AssertionError  # pragma: no cover
            self._check_head(conn, head, cfg)
            tx = LedgerTransaction(self, conn, head)
            yield tx
            tx._finish()
        if tx.entries:
            with self._pending_lock:
                if self._pending is None or tx.head.seq > self._pending.seq:
                    self._pending = tx.head
            if anchor:
                self._anchor_after_commit()

    def _anchor_after_commit(self) -> None:
        background = _BACKGROUND
        if background is not None:
            try:
                background.submit(self.flush_anchor)
                return
            except RuntimeError:  # shutting down: write it here
                pass
        self.flush_anchor()

    def flush_anchor(self) -> None:
        """Write the newest committed head to the anchor file and the sink.

        Coalesced: when another thread is writing an anchor, this returns at once and that thread
        writes the newest head after its own (one fsync for many batches under load).
        """
        while self._anchoring.acquire(blocking=False):
            try:
                with self._pending_lock:
                    target, self._pending = self._pending, None
                if target is not None:
                    self._write_anchor(target)
            finally:
                self._anchoring.release()
            with self._pending_lock:
                if self._pending is None:
                    return

    def _check_head(self, conn: Connection, head: HeadRow, cfg: LedgerConfig) -> None:
        if head.key_id is None and head.seq > 0:
            raise AuditError(
                "the ledger was written by troth 0.1 without a key", where="audit_head",
                fix=_UPGRADE,
            )  # fmt: skip
        if head.key_id is not None and head.key_id != cfg.key_id:
            raise AuditError(
                f"the ledger is chained with key id {head.key_id}; this process's "
                f"TROTH_SECRET_KEY gives key id {cfg.key_id}",
                where="audit_head",
                fix="run troth with the TROTH_SECRET_KEY the ledger was written with",
            )
        anchor, problem = cfg.anchors.read(cfg.db)
        if problem:
            raise AuditError(problem, where=str(cfg.anchors.path), fix=_REANCHOR)
        if anchor is None:
            return
        why = None
        if anchor.seq > head.seq:
            why = (
                f"the ledger ends at entry {head.seq} but its anchor records {anchor.seq} "
                "entries (truncated, emptied or restored from an older backup)"
            )
        else:
            sql = f"SELECT hash FROM audit_entry WHERE seq = {placeholders(conn, 1)}"
            stored = conn.exec_driver_sql(sql, (anchor.seq,)).scalar()
            if stored != anchor.hash:
                why = f"entry {anchor.seq} does not match its anchor (ledger rewritten)"
        if why:
            raise AuditError(why, where=str(cfg.anchors.path), fix=_REANCHOR)

    def _write_anchor(self, head: Head) -> None:
        """Move the anchor to *head* (after the commit); a failure is logged, not raised."""
        cfg = self.config
        anchor = new_anchor(cfg.db, head.seq, head.hash, cfg.key_id)
        try:
            with cfg.anchors.locked():
                written = cfg.anchors.advance(anchor)
        except (AuditError, OSError) as exc:
            log.warning("ledger anchor %s not written: %s", cfg.anchors.path, exc)
            return
        if written and cfg.sink is not None:
            cfg.sink.send(anchor.signed(cfg.key).record())

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


def _chain(key: bytes, head: Head, checked: Sequence[Checked]) -> list[Entry]:
    ts = utc_timestamp()
    prev = head.hash
    seq = head.seq
    out: list[Entry] = []
    for kind, data_json, actor, subject, ref in checked:
        seq += 1
        digest = entry_mac(key, seq, ts, kind, actor, subject, data_json, prev, ref)
        out.append(Entry(seq, ts, kind, actor, subject, data_json, prev, digest, ref))
        prev = digest
    return out


def _row(e: Entry) -> tuple[Any, ...]:
    return (e.seq, e.ts, e.kind, e.actor, e.subject, e.data_json, e.prev, e.hash, e.ref)

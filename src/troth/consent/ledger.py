"""The consent ledger: append-only consent events in troth's state DB, current state and history.

>>> ledger = ConsentLedger(open_store(url), policy, key=settings.secret_key)
>>> ledger.record(NewEvent("ada@example.test", "marketing_email", "given"))
>>> ledger.record(NewEvent("ada@example.test", "marketing_email", "withdrawn"))  # same call

Subjects are stored as troth's keyed hash of the identifier (:func:`subject_ref`); IP addresses only
as a keyed hash. Every stored event has its audit ledger entry (ids and hashes), written in the SAME
transaction: an event whose entry the ledger refuses is not stored, and a crash leaves both or
neither. An event replayed with the same content is stored once (``event_uid`` is its content
hash).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from troth.audit import Event, Ledger, check_events, keyed_hash
from troth.audit.ledger import Checked
from troth.consent.events import (
    ConsentState,
    EventKind,
    NewEvent,
    StoredEvent,
    TimeWindow,
    check_text,
    fold,
    parse_kind,
    parse_time,
    text_hash,
    utc_iso,
)
from troth.consent.models import ConsentEvent
from troth.consent.subjects import Subject, SubjectRef, subject_ref
from troth.errors import ConsentError, UnknownNameError
from troth.policy.model import Consent, Policy
from troth.store.db import connect

if TYPE_CHECKING:
    from troth.consent.push import WithdrawalPushes

TABLE: sa.Table = ConsentEvent.__table__  # type: ignore[assignment]
_MAX_TEXT = {
    "channel": 80,
    "collection_point": 80,
    "jurisdiction": 20,
    "user_agent": 400,
    "notice_version": 40,
    "notice_hash": 64,
}


__all__ = ["ConsentLedger", "UnknownSubjectError", "subject_ref"]


class _Ticket:
    """Rows one caller asked to write, their checked audit entries, and how that went (set by
    the group writer)."""

    __slots__ = ("audit", "done", "error", "identifiers", "rows")

    def __init__(
        self,
        rows: list[dict[str, Any]],
        audit: list[Checked],
        identifiers: dict[str, str] | None = None,
    ) -> None:
        self.rows = rows
        self.audit = audit
        #: event uid -> the raw identifier of a withdrawal (for its pushes; never stored plain)
        self.identifiers = identifiers or {}
        self.done = False
        self.error: BaseException | None = None


class UnknownSubjectError(ConsentError):
    """The ledger holds no consent event for this subject."""

    def __init__(self, subject: str, valid_consents: Iterable[str]) -> None:
        self.subject = subject
        ids = sorted(valid_consents)
        super().__init__(
            f"no consent events for subject {subject}",
            where="consent ledger",
            fix=f"record an event first; consent ids of this policy: {', '.join(ids) or 'none'}",
        )


class ConsentLedger:
    """Consent events of one policy in troth's state DB (schema upgraded by ``open_store``)."""

    def __init__(
        self,
        engine: Engine,
        policy: Policy,
        *,
        key: bytes,
        audit: Ledger | None = None,
        window: TimeWindow | None = None,
        pushes: WithdrawalPushes | None = None,
    ) -> None:
        self.engine = engine
        #: where withdrawals are pushed (services of the data map), queued with the events
        self.pushes = pushes
        self.policy = policy
        self.key = key
        self.window = window or TimeWindow()
        self.audit = audit if audit is not None else Ledger(engine)
        self.consents: dict[str, Consent] = {c.id: c for c in policy.consents}
        self._listeners: list[Callable[[set[str]], None]] = []
        # one writer at a time per process (SQLite has one anyway, and the audit chain serialises
        # appends): concurrent callers queue tickets that the lock holder writes together
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket] = []

    # --- writing --------------------------------------------------------------------------------

    def subject_ref(self, subject: Subject) -> str:
        return subject_ref(self.key, subject)

    def on_change(self, listener: Callable[[set[str]], None]) -> None:
        """Call *listener* with the subject refs whose events changed (cache invalidation)."""
        self._listeners.append(listener)

    def consent(self, consent_id: str) -> Consent:
        found = self.consents.get(consent_id)
        if found is None:
            raise UnknownNameError("consent id", consent_id, self.consents, where="policy.consents")
        return found

    def check(self, event: NewEvent, *, actor: str = "troth") -> None:
        """Refuse *event* as :meth:`record` would, without recording it (dry runs, imports)."""
        self._row(event, actor)

    def record(self, event: NewEvent, *, actor: str = "troth") -> StoredEvent:
        """Record one event (given, refused, withdrawn or expired); returns it as stored."""
        return self.record_many([event], actor=actor)[0]

    def record_many(self, events: Sequence[NewEvent], *, actor: str = "troth") -> list[StoredEvent]:
        """Record events in one transaction; replayed events (same content) are stored once."""
        rows = [self._row(e, actor) for e in events]
        if not rows:
            return []
        unique = list({r["event_uid"]: r for r in rows}.values())
        # the audit entries are checked before anything is queued: a refused entry (a personal
        # value in channel) refuses the request, and no other caller's batch
        identifiers = {
            r["event_uid"]: e.subject
            for e, r in zip(events, rows, strict=True)
            if r["kind"] == "withdrawn" and isinstance(e.subject, str)
        }
        ticket = _Ticket(unique, check_events(_audit_event(r) for r in unique), identifiers)
        with self._queue_lock:
            self._queue.append(ticket)
        # group commit: whoever holds the write lock writes every queued ticket in one transaction
        with self._write_lock:
            if not ticket.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    self._write(batch)
                except BaseException as exc:
                    for t in batch:
                        t.error = exc
                    raise
                finally:
                    for t in batch:
                        t.done = True
        # anchored outside the write lock, so the next group commits while the anchor is fsynced
        self.audit.flush_anchor()
        if ticket.error is not None:
            raise ticket.error
        by_uid = {r["event_uid"]: r for r in unique}
        return [_stored({**by_uid[r["event_uid"]], "id": 0}) for r in rows]

    def expire_due(self, now: datetime | None = None, *, actor: str = "troth") -> int:
        """Record ``expired`` for every given consent older than its ``expires_after``."""
        moment = now or datetime.now(UTC)
        events: list[NewEvent] = []
        for consent in self.consents.values():
            if consent.expires_after is None:
                continue
            cutoff = utc_iso(consent.expires_after.before(moment))
            for subject, states in self.all_states([consent.id]).items():
                st = states.get(consent.id)
                if st and st.given and st.event_time < cutoff:
                    events.append(
                        NewEvent(
                            SubjectRef(subject),
                            consent.id,
                            EventKind.expired,
                            channel="troth",
                            event_time=moment,
                            notice_version=st.notice_version,
                            notice_hash=self._notice_hash(subject, st.event_uid),
                        )
                    )
        for i in range(0, len(events), 1000):
            self.record_many(events[i : i + 1000], actor=actor)
        return len(events)

    def _notice_hash(self, subject: str, event_uid: str) -> str:
        ref = SubjectRef(subject)
        return next(e.notice_hash for e in self.history(ref) if e.event_uid == event_uid)

    def _write(self, batch: list[_Ticket]) -> None:
        """Store the new events of *batch* and their audit entries in one transaction."""
        rows: dict[str, dict[str, Any]] = {}
        audit: dict[str, Checked] = {}
        identifiers: dict[str, str] = {}
        for t in batch:
            identifiers.update(t.identifiers)
            for r, checked in zip(t.rows, t.audit, strict=True):
                rows.setdefault(r["event_uid"], r)
                audit.setdefault(r["event_uid"], checked)
        with self.audit.transaction(anchor=False) as tx:
            inserted = _insert_new(tx.conn, list(rows.values()))
            new = [r for uid, r in rows.items() if uid in inserted]
            tx.append_checked([audit[r["event_uid"]] for r in new])
            if self.pushes:
                self.pushes.queue(tx, new, identifiers)
        if not new:
            return
        changed = {r["subject"] for r in new}
        for listener in self._listeners:
            listener(changed)

    def _row(self, e: NewEvent, actor: str) -> dict[str, Any]:
        consent = self.consent(e.consent_id)
        kind = parse_kind(e.kind.value if isinstance(e.kind, EventKind) else e.kind)
        version = e.notice_version or consent.notice.version
        if e.notice_hash is not None:
            notice_hash = e.notice_hash
        elif version == consent.notice.version:
            notice_hash = text_hash(consent.notice.text)
        else:
            raise ConsentError(
                f"notice version {version!r} of consent {consent.id!r} is not the current one "
                f"({consent.notice.version!r}) and no notice_hash was given",
                where="consent event",
                fix="send the hash of the notice text that was shown, or the current version",
            )
        channel = e.channel or consent.channel or "api"
        texts = {
            "channel": channel,
            "notice_version": version,
            "notice_hash": notice_hash,
            "collection_point": e.collection_point,
            "jurisdiction": e.jurisdiction,
            "user_agent": e.user_agent,
        }
        for name, text in texts.items():
            if text is not None:
                check_text(text, name, max_length=_MAX_TEXT[name])
        subject = self.subject_ref(e.subject)
        now = datetime.now(UTC)
        moment = parse_time(e.event_time, now)
        self.window.check(moment, now)
        event_time = utc_iso(moment)
        uid_text = "|".join(
            (subject, consent.id, kind.value, version, notice_hash, event_time, channel)
        )
        return {
            "event_uid": hashlib.sha256(uid_text.encode()).hexdigest(),
            "subject": subject,
            "consent_id": consent.id,
            "kind": kind.value,
            "notice_version": version,
            "notice_hash": notice_hash,
            "event_time": event_time,
            "recorded_at": utc_iso(now),
            "channel": channel,
            "collection_point": e.collection_point,
            "jurisdiction": e.jurisdiction,
            "gpc": bool(e.gpc),
            "user_agent": e.user_agent,
            "ip_hash": keyed_hash(self.key, e.ip) if e.ip else None,
            "actor": actor,
        }

    # --- reading --------------------------------------------------------------------------------

    def history(self, subject: Subject) -> list[StoredEvent]:
        """Every event of *subject*, in decision order (oldest first)."""
        ref = self.subject_ref(subject)
        with connect(self.engine) as conn:
            rows = conn.execute(sa.select(TABLE).where(TABLE.c.subject == ref)).mappings().all()
        events = sorted((_stored(dict(r)) for r in rows), key=StoredEvent.order_key)
        if not events:
            raise UnknownSubjectError(ref, self.consents)
        return events

    def state(self, subject: Subject) -> dict[str, ConsentState]:
        """Current state per consent id of *subject* (latest event time wins)."""
        return fold(self.history(subject))

    def state_or_empty(self, subject: Subject) -> dict[str, ConsentState]:
        try:
            return self.state(subject)
        except UnknownSubjectError:
            return {}

    def all_states(self, consent_ids: Iterable[str]) -> dict[str, dict[str, ConsentState]]:
        """``{subject: {consent_id: state}}`` for every subject with events of *consent_ids*."""
        ids = list(consent_ids)
        by_subject: dict[str, list[StoredEvent]] = {}
        with connect(self.engine) as conn:
            result = conn.execution_options(stream_results=True).execute(
                sa.select(TABLE).where(TABLE.c.consent_id.in_(ids))
            )
            for part in result.mappings().partitions(20_000):
                for r in part:
                    ev = _stored(dict(r))
                    by_subject.setdefault(ev.subject, []).append(ev)
        return {s: fold(evs) for s, evs in by_subject.items()}

    def count(self) -> int:
        with connect(self.engine) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar_one())


_COLUMNS = [c.name for c in TABLE.columns if c.name != "id"]
_PG_TYPES = {"gpc": "boolean[]"}
#: PostgreSQL: one statement per batch, columns passed as arrays (no per-row round trips)
_PG_INSERT = (
    f"INSERT INTO consent_event ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_PG_TYPES.get(c, 'varchar[]')}" for c in _COLUMNS)
    + ") ON CONFLICT (event_uid) DO NOTHING RETURNING event_uid"
)


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose event_uid is not stored yet; returns the uids inserted."""
    if conn.dialect.name == "postgresql":
        arrays = tuple([r[c] for r in rows] for c in _COLUMNS)
        return {str(u) for (u,) in conn.exec_driver_sql(_PG_INSERT, arrays)}
    if conn.dialect.name != "sqlite":
        raise ConsentError(
            f"troth's state DB does not run on {conn.dialect.name!r}",
            where="consent ledger",
            fix="use SQLite or PostgreSQL for TROTH_DATABASE_URL",
        )
    uids = [r["event_uid"] for r in rows]
    existing: set[str] = set()
    for i in range(0, len(uids), 500):
        query = sa.select(TABLE.c.event_uid).where(TABLE.c.event_uid.in_(uids[i : i + 500]))
        existing.update(conn.execute(query).scalars())
    new = [r for r in rows if r["event_uid"] not in existing]
    if new:
        conn.execute(sqlite.insert(TABLE).on_conflict_do_nothing(index_elements=["event_uid"]), new)
    return {r["event_uid"] for r in new}


def _audit_event(r: dict[str, Any]) -> Event:
    """The audit entry of a consent event row: ids and hashes (the guard refuses anything else)."""
    return Event(
        f"consent.{r['kind']}",
        {
            "event_id": r["event_uid"],
            "consent_id": r["consent_id"],
            "notice_version": r["notice_version"],
            "notice_hash": r["notice_hash"],
            "channel": r["channel"],
        },
        r["actor"],
        r["subject"],
    )


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        id=int(row.get("id") or 0),
        event_uid=row["event_uid"],
        subject=row["subject"],
        consent_id=row["consent_id"],
        kind=EventKind(row["kind"]),
        notice_version=row["notice_version"],
        notice_hash=row["notice_hash"],
        event_time=row["event_time"],
        recorded_at=row["recorded_at"],
        channel=row["channel"],
        collection_point=row["collection_point"],
        jurisdiction=row["jurisdiction"],
        gpc=bool(row["gpc"]),
        user_agent=row["user_agent"],
        ip_hash=row["ip_hash"],
        actor=row["actor"],
    )

"""The request lifecycle in troth's state DB, every transition in the audit ledger.

A request's row and the audit entry of its new status commit in one transaction
(:meth:`troth.audit.Ledger.transaction`): a crash leaves both or neither.

received → identity_verified → approved → running → completed | failed | denied

A ``failed`` request (a store was down) can run again; a ``running`` request whose process died
runs again too (that is how an erasure resumes). Due dates follow the strictest jurisdiction the
policy names (GDPR, UK GDPR, PDPA-TH: one month; CCPA: 45 days; LGPD: 15 days; PIPEDA: 30 days);
one month when it names none. The ledger gets ids, identity names, counts and keyed hashes, never
an identity value.
"""

from __future__ import annotations

import calendar
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from troth.audit import Event, Ledger
from troth.dsr.identity import Identity, identity_hash, identity_set_hash
from troth.dsr.models import DsrIdentity, DsrRequest
from troth.dsr.sealed import forget
from troth.errors import RequestNotFoundError, RequestStateError
from troth.store import outbox
from troth.store.db import read_once, translate_errors, writing_session


class Kind(StrEnum):
    access = "access"
    erasure = "erasure"
    rectification = "rectification"
    restriction = "restriction"
    #: filed by the privacy centre; the purpose objected to is in the centre's details
    objection = "objection"


class Status(StrEnum):
    received = "received"
    identity_verified = "identity_verified"
    approved = "approved"
    running = "running"
    completed = "completed"
    failed = "failed"
    denied = "denied"
    #: waiting for the person (identity documents, clarification); see troth.dsr.clock
    paused = "paused"


OPEN = (
    Status.received,
    Status.identity_verified,
    Status.approved,
    Status.running,
    Status.failed,
    Status.paused,
)
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.received: (Status.identity_verified, Status.denied, Status.paused),
    Status.identity_verified: (Status.approved, Status.denied, Status.paused),
    Status.paused: (Status.received, Status.identity_verified, Status.denied),
    Status.approved: (Status.running, Status.denied),
    Status.running: (Status.running, Status.completed, Status.failed),
    Status.failed: (Status.running, Status.denied),
    Status.completed: (),
    Status.denied: (),
}

#: (months, days) per jurisdiction
DUE: dict[str, tuple[int, int]] = {
    "gdpr": (1, 0),
    "uk_gdpr": (1, 0),
    "pdpa_th": (1, 0),
    "ccpa": (0, 45),
    "lgpd": (0, 15),
    "pipeda": (0, 30),
}
DEFAULT_DUE = (1, 0)


def add_months(ts: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month = ts.month - 1 + months
    year, month = ts.year + month // 12, month % 12 + 1
    day = min(ts.day, calendar.monthrange(year, month)[1])
    return ts.replace(year=year, month=month, day=day)


def due_date(received: datetime, jurisdictions: Iterable[str]) -> tuple[datetime, str | None]:
    """The earliest due date among ``jurisdictions`` (one month when none), and whose it is."""
    options = [(j, DUE[j]) for j in jurisdictions if j in DUE]
    if not options:
        return add_months(received, DEFAULT_DUE[0]), None
    dated = [(add_months(received, m) + timedelta(days=d), j) for j, (m, d) in options]
    return min(dated)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RequestInfo:
    id: str
    kind: str
    status: str
    identity_names: tuple[str, ...]
    jurisdiction: str | None
    received_at: str
    due_at: str
    updated_at: str
    resolved_at: str | None
    reason: str | None
    retryable: bool
    result: dict[str, Any] | None
    paused_at: str | None = None
    extended_at: str | None = None
    #: the keyed hash of the request's identities (and scope): which person it is for
    identity_set: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_row(cls, r: DsrRequest) -> RequestInfo:
        return cls(
            r.id,
            r.kind,
            r.status,
            tuple(n for n in r.identity_names.split(",") if n),
            r.jurisdiction,
            r.received_at,
            r.due_at,
            r.updated_at,
            r.resolved_at,
            r.reason,
            bool(r.retryable),
            json.loads(r.result) if r.result else None,
            r.paused_at,
            r.extended_at,
            r.identity_set,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "identities": list(self.identity_names),
            "jurisdiction": self.jurisdiction,
            "received_at": self.received_at,
            "due_at": self.due_at,
            "updated_at": self.updated_at,
            "reason": self.reason,
            "retryable": self.retryable,
            "result": self.result,
            "paused_at": self.paused_at,
            "extended_at": self.extended_at,
        }


class Requests:
    """Data-subject requests in troth's state DB (upgraded schema: ``open_store``)."""

    def __init__(self, engine: Engine, key: bytes, *, actor: str = "troth") -> None:
        self.engine = engine
        self.key = key
        self.actor = actor
        self.ledger = Ledger(engine)

    def submit(
        self,
        kind: Kind,
        identities: Sequence[Identity],
        jurisdictions: Iterable[str] = (),
        *,
        then: Sequence[tuple[Status, Mapping[str, Any] | None]] = (),
        also: Callable[[Connection, RequestInfo], None] | None = None,
    ) -> RequestInfo:
        """Record a new request; ``then``: the next statuses (with their audit data), recorded
        in the same transaction (an operator's request is verified and approved as it is
        made); *also* writes more rows of the request in that transaction."""
        received = now()
        due, jurisdiction = due_date(received, jurisdictions)
        hashes = sorted({(i.name, identity_hash(self.key, i)) for i in identities})
        names = sorted({n for n, _ in hashes})
        row = DsrRequest(
            id=uuid.uuid4().hex,
            kind=kind.value,
            status=Status.received.value,
            identity_names=",".join(names),
            identity_set=identity_set_hash(self.key, identities),
            jurisdiction=jurisdiction,
            received_at=received.isoformat(),
            due_at=due.isoformat(),
            updated_at=received.isoformat(),
            retryable=False,
        )
        with self.ledger.transaction() as tx, Session(bind=tx.conn) as s:
            s.add(row)
            s.flush()
            s.add_all(DsrIdentity(request_id=row.id, name=n, hash=h) for n, h in hashes)
            s.flush()
            info = RequestInfo.from_row(row)
            data = {
                "identities": names,
                "identity_hashes": [h for _, h in hashes],
                "due_at": info.due_at,
                "jurisdiction": jurisdiction,
            }
            entries = [self._entry(info, data)]
            if also is not None:
                also(tx.conn, info)
            changed(tx.conn, info, None)
            for to, more in then:
                info = self._move(s, row, to, entries, data=more)
            s.flush()  # the row's final status: one UPDATE for all the moves
            tx.append_many(entries)
        return info

    def get(self, request_id: str) -> RequestInfo:
        with read_once(self.engine) as conn, Session(bind=conn) as s:
            row = s.get(DsrRequest, request_id)
            if row is None:
                raise RequestNotFoundError(
                    f"no request {request_id!r}",
                    where="troth state DB",
                    fix="list requests with `troth dsr status`",
                )
            return RequestInfo.from_row(row)

    def find_open(self, kind: Kind, identities: Sequence[Identity]) -> RequestInfo | None:
        """The newest unfinished request of this kind for exactly these identities."""
        target = identity_set_hash(self.key, identities)
        stmt = (
            sa.select(DsrRequest)
            .where(DsrRequest.kind == kind.value, DsrRequest.identity_set == target)
            .where(DsrRequest.status.in_([s.value for s in OPEN]))
            .order_by(DsrRequest.received_at.desc())
        )
        with read_once(self.engine) as conn, Session(bind=conn) as s:
            row = s.scalars(stmt).first()
            return RequestInfo.from_row(row) if row else None

    def list(self, *, status: str | None = None, limit: int = 50) -> list[RequestInfo]:
        stmt = sa.select(DsrRequest).order_by(DsrRequest.received_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(DsrRequest.status == status)
        with translate_errors(self.engine), Session(self.engine) as s:
            return [RequestInfo.from_row(r) for r in s.scalars(stmt)]

    def transition(
        self,
        request_id: str,
        to: Status,
        *,
        reason: str | None = None,
        retryable: bool = False,
        result: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        edit: Callable[[DsrRequest], None] | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> RequestInfo:
        """Move the request to ``to`` (refused when the lifecycle does not allow it); the new
        status and its audit entry commit together (*edit* changes more of the row with them,
        *also* writes more rows in their transaction)."""
        with self.ledger.transaction() as tx, Session(bind=tx.conn) as s:
            row = self._row(s, request_id)
            if also is not None:
                also(tx.conn)
            entries: MutableSequence[Event] = []
            info = self._move(
                s,
                row,
                to,
                entries,
                reason=reason,
                retryable=retryable,
                result=result,
                data=data,
                edit=edit,
            )
            s.flush()
            tx.append_many(entries)
        return info

    def advance(
        self, request_id: str, moves: Sequence[tuple[Status, Mapping[str, Any] | None]]
    ) -> RequestInfo:
        """Several transitions in one transaction (each with its own audit entry): all or none."""
        with self.ledger.transaction() as tx, Session(bind=tx.conn) as s:
            row = self._row(s, request_id)
            entries: MutableSequence[Event] = []
            info = RequestInfo.from_row(row)
            for to, data in moves:
                info = self._move(s, row, to, entries, data=data)
            s.flush()
            tx.append_many(entries)
        return info

    @staticmethod
    def _row(s: Session, request_id: str) -> DsrRequest:
        row = s.get(DsrRequest, request_id)
        if row is None:
            raise RequestNotFoundError(f"no request {request_id!r}", where="troth state DB")
        return row

    def _move(
        self,
        s: Session,
        row: DsrRequest,
        to: Status,
        entries: MutableSequence[Event],
        *,
        reason: str | None = None,
        retryable: bool = False,
        result: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        edit: Callable[[DsrRequest], None] | None = None,
    ) -> RequestInfo:
        """One transition on the session's transaction: the row, its audit entry (appended to
        *entries*), the outbox row of the change, and the end of sealed identity values. The
        caller flushes the row once after its moves (several moves, one UPDATE)."""
        current = Status(row.status)
        if to not in TRANSITIONS[current]:
            allowed = ", ".join(t.value for t in TRANSITIONS[current]) or "none"
            raise RequestStateError(
                f"request {row.id} cannot go from {current.value} to {to.value}",
                where="request lifecycle",
                fix=f"allowed next states: {allowed}",
            )
        row.status = to.value
        row.updated_at = now().isoformat()
        row.reason = reason
        row.retryable = retryable
        if result is not None:
            row.result = json.dumps(result, sort_keys=True, default=str)
        if edit is not None:
            edit(row)
        info = RequestInfo.from_row(row)
        extra: dict[str, Any] = {"from": current.value}
        if reason:
            extra["reason"] = reason
        if to == Status.failed:
            extra["retryable"] = retryable
        entries.append(self._entry(info, {**extra, **(data or {})}))
        conn = s.connection()
        if to in (Status.completed, Status.denied):
            forget(conn, info.id)  # sealed identity values end with the request
        changed(conn, info, current.value)
        return info

    def mark_resolved(self, request_id: str) -> None:
        with writing_session(self.engine) as s:
            row = s.get(DsrRequest, request_id)
            assert row is not None
            row.resolved_at = now().isoformat()

    def _entry(self, info: RequestInfo, data: Mapping[str, Any]) -> Event:
        """The audit entry of *info*'s current status."""
        return Event(
            f"dsr.{info.status}",
            {"request_id": info.id, "type": info.kind, **data},
            self.actor,
            f"dsr:{info.id}",
        )


def changed(
    conn: Connection, info: RequestInfo, previous: str | None, *, event: str = "status"
) -> None:
    """The outbox row of a change, in its transaction (workers and webhooks act on it)."""
    payload = {
        "request_id": info.id,
        "type": info.kind,
        "status": info.status,
        "from": previous,
        "event": event,
        "due_at": info.due_at,
    }
    outbox.emit(conn, "dsr.changed", payload)

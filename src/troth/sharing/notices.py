"""Art. 19 notices: tell every recipient that received the person's data of an erasure,
rectification or restriction, through the channel the policy declares for it.

Planning (:func:`plan_notices`) reads the disclosure register (one query by the person's keyed
hashes) and refuses, before the request writes anything, when a recipient that received the
person's data declares no channel (``notify:`` in the policy) or names a service operation the
data map does not have. Queueing (:func:`queue_notices`) writes one ``outbound_notice`` row per
recipient, its outbox job (:mod:`troth.store.outbox`) and its ``recipient.notice_queued`` ledger
entry in one transaction, once per request, recipient and kind (a resumed request queues nothing
twice). The jobs deliver them (:mod:`troth.sharing.channels`), retried with back-off by the
worker. :func:`notices` and :func:`notice_counts` are what the console shows: pending, sent or
failed, per request.

A notice names the person only by what the recipient received with the data: the disclosure ids
(``<batch>:<n>``, returned by the gateway) and troth's keyed hashes. Never a value, except the
identity values a service operation is declared to send (``{email}``), kept encrypted until it
is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection, Engine

from troth.audit import Ledger
from troth.datamap.model import DataMap
from troth.datamap.services import placeholders
from troth.dsr.identity import Identity, identity_hash
from troth.errors import RequestError
from troth.policy.model import Policy, Recipient
from troth.sharing.models import (
    Disclosure,
    DisclosureBatch,
    OutboundNotice,
    OutboundNoticeSubject,
)
from troth.store.db import connect
from troth.store.outbox import emit, now, stamp

TABLE: sa.Table = OutboundNotice.__table__  # type: ignore[assignment]
SUBJECTS: sa.Table = OutboundNoticeSubject.__table__  # type: ignore[assignment]
TOPIC = "recipient.notice"
KINDS = ("erasure", "rectification", "restriction")
#: placeholders a service operation may use besides the person's identities
BUILTINS = frozenset({"request_id", "kind", "recipient", "notice_id"})
#: disclosure ids listed in one notice (the count is always given)
MAX_IDS = 1000


@dataclass(frozen=True)
class PlannedNotice:
    """One recipient to tell: its channel and what it received (ids, never values)."""

    recipient: str
    channel: str
    disclosures: tuple[str, ...]
    count: int
    categories: tuple[str, ...]
    subjects: tuple[str, ...]
    #: identity names the recipient's service operation sends (sealed until sent)
    needs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "channel": self.channel,
            "disclosures": self.count,
            "categories": list(self.categories),
        }


def received(engine: Engine, subjects: Iterable[str], kind: str) -> dict[str, dict[str, Any]]:
    """Per recipient, the disclosures of these subject hashes not yet covered by a notice of
    *kind* to it: ids, categories, subjects (confidential legal requests included: Art. 19
    covers every recipient). Two queries."""
    keys = sorted(set(subjects))
    if not keys:
        return {}
    b = DisclosureBatch.__table__.c
    d = Disclosure.__table__.c
    query = (
        sa.select(b.recipient, b.shapes, b.disclosed_at, d.batch, d.n, d.shape, d.subject)
        .join(DisclosureBatch.__table__, b.id == d.batch)
        .where(d.subject.in_(keys))
        .order_by(b.recipient, b.disclosed_at, d.batch, d.n)
    )
    told = (
        sa.select(TABLE.c.recipient, SUBJECTS.c.subject, TABLE.c.created_at)
        .join(SUBJECTS, SUBJECTS.c.notice_id == TABLE.c.id)
        .where(SUBJECTS.c.subject.in_(keys), TABLE.c.kind == kind, TABLE.c.status != "failed")
    )
    out: dict[str, dict[str, Any]] = {}
    with connect(engine) as conn:
        since: dict[tuple[str, str], datetime] = {}
        for recipient, subject, at in conn.execute(told):
            when = datetime.fromisoformat(at)
            since[(recipient, subject)] = max(when, since.get((recipient, subject), when))
        for recipient, shapes, at, batch, n, shape, subject in conn.execute(query):
            last = since.get((recipient, subject))
            if last is not None and datetime.fromisoformat(at) <= last:
                continue  # told already, by an earlier request's notice
            got = out.setdefault(recipient, {"ids": [], "cats": set(), "subjects": set()})
            got["ids"].append(f"{batch}:{n}")
            got["cats"].update(json.loads(shapes)[shape][0].split())
            got["subjects"].add(subject)
    return out


def channel_problem(recipient: Recipient | None, rid: str, datamap: DataMap | None) -> str | None:
    """Why notices to *rid* cannot be sent (None: they can)."""
    if recipient is None:
        return f"{rid} (no longer declared in the policy)"
    notify = recipient.notify
    if notify is None:
        return f"{rid} (no notify channel)"
    if notify.service is not None:
        services = {s.name: s for s in (datamap.services if datamap else [])}
        svc = services.get(notify.service)
        if svc is None:
            return f"{rid} (service {notify.service!r} is not in the data map)"
        if notify.operation not in svc.operations:
            return f"{rid} (service {notify.service!r} has no operation {notify.operation!r})"
    return None


def plan_notices(
    policy: Policy,
    datamap: DataMap | None,
    engine: Engine,
    key: bytes,
    identities: Sequence[Identity],
    kind: str,
) -> list[PlannedNotice]:
    """The notices a request of *kind* sends; refuses (before any write) a recipient that
    received the person's data and cannot be told."""
    if kind not in KINDS:
        raise ValueError(kind)
    got = received(engine, (identity_hash(key, i) for i in identities), kind)
    recipients = {r.id: r for r in policy.recipients}
    problems = [
        p for rid in sorted(got) if (p := channel_problem(recipients.get(rid), rid, datamap))
    ]
    if problems:
        raise RequestError(
            f"the person's data was disclosed to recipients troth cannot tell of the {kind} "
            f"(GDPR Art. 19): {'; '.join(problems)}",
            where="policy recipients",
            fix="give each recipient `notify:` with `email:`, `webhook:` and `secret:`, or "
            "`service:` and `operation:` (docs/policy.md)",
        )
    have = {i.name for i in identities}
    out: list[PlannedNotice] = []
    for rid, g in sorted(got.items()):
        notify = recipients[rid].notify
        assert notify is not None
        needs: tuple[str, ...] = ()
        if notify.service is not None and datamap is not None:
            svc = next(s for s in datamap.services if s.name == notify.service)
            used = placeholders(svc.operations[notify.operation or ""]) - BUILTINS
            missing = sorted(used - have)
            if missing:
                raise RequestError(
                    f"recipient {rid}'s notice operation {notify.service}.{notify.operation} "
                    f"sends {', '.join('{' + m + '}' for m in missing)}, which this request "
                    "does not name",
                    where=f"policy recipients.{rid}.notify",
                    fix=f"name the person by {', '.join(missing)} too, or change the operation",
                )
            needs = tuple(sorted(used))
        ids = tuple(g["ids"])
        out.append(
            PlannedNotice(
                rid,
                notify.channel,
                ids[:MAX_IDS],
                len(ids),
                tuple(sorted(g["cats"])),
                tuple(sorted(g["subjects"])),
                needs,
            )
        )
    return out


def _aead(key: bytes) -> AESGCM:
    return AESGCM(hmac.new(key, b"troth outbound notices v1", hashlib.sha256).digest())


def seal_values(key: bytes, notice_id: str, values: Mapping[str, str]) -> str:
    nonce = os.urandom(12)
    blob = nonce + _aead(key).encrypt(nonce, json.dumps(dict(values)).encode(), notice_id.encode())
    return base64.b64encode(blob).decode()


def unseal_values(key: bytes, notice_id: str, text: str | None) -> dict[str, str]:
    if not text:
        return {}
    raw = base64.b64decode(text)
    try:
        plain = _aead(key).decrypt(raw[:12], raw[12:], notice_id.encode())
    except InvalidTag:
        raise RequestError(
            f"the sealed values of notice {notice_id} do not open with this secret key",
            where="outbound_notice",
            fix="run the workers with the TROTH_SECRET_KEY the notice was queued with",
        ) from None
    return {str(k): str(v) for k, v in json.loads(plain).items()}


def insert_notice(
    conn: Connection,
    *,
    ref: str,
    kind: str,
    recipient: str,
    channel: str,
    detail: Mapping[str, Any],
    sealed: Mapping[str, str] | None,
    key: bytes,
    status: str = "pending",
    error: str | None = None,
) -> str:
    """Write one notice row and (when pending) its outbox job on *conn*; returns its id."""
    notice_id = uuid.uuid4().hex
    at = stamp(now())
    conn.execute(
        sa.insert(TABLE).values(
            id=notice_id,
            ref=ref,
            kind=kind,
            recipient=recipient,
            channel=channel,
            detail=json.dumps(dict(detail), sort_keys=True),
            sealed=seal_values(key, notice_id, sealed) if sealed else None,
            status=status,
            attempts=0,
            created_at=at,
            updated_at=at,
            error=error,
        )
    )
    if status == "pending":
        emit(conn, TOPIC, {"notice_id": notice_id})
    return notice_id


def queue_notices(
    engine: Engine,
    key: bytes,
    request_id: str,
    kind: str,
    planned: Sequence[PlannedNotice],
    identities: Sequence[Identity],
    *,
    fields: Sequence[str] = (),
    actor: str = "troth",
) -> list[str]:
    """Queue the planned notices of a request (each recipient once per request and kind), with
    their outbox jobs and ledger entries, in one transaction; returns the new notice ids."""
    if not planned:
        return []
    values: dict[str, str] = {}
    for ident in identities:
        values.setdefault(ident.name, ident.value)
    ids: list[str] = []
    with Ledger(engine).transaction() as tx:
        done = set(
            tx.conn.execute(
                sa.select(TABLE.c.recipient).where(TABLE.c.ref == request_id, TABLE.c.kind == kind)
            ).scalars()
        )
        for p in planned:
            if p.recipient in done:
                continue
            detail = {
                "disclosures": list(p.disclosures),
                "count": p.count,
                "categories": list(p.categories),
                "subjects": list(p.subjects),
                "fields": sorted(fields),
            }
            sealed = {n: values[n] for n in p.needs if n in values}
            notice_id = insert_notice(
                tx.conn,
                ref=request_id,
                kind=kind,
                recipient=p.recipient,
                channel=p.channel,
                detail=detail,
                sealed=sealed,
                key=key,
            )
            tx.conn.execute(
                sa.insert(SUBJECTS), [{"notice_id": notice_id, "subject": s} for s in p.subjects]
            )
            tx.append(
                "recipient.notice_queued",
                {
                    "notice_id": notice_id,
                    "request_id": request_id,
                    "recipient": p.recipient,
                    "kind": kind,
                    "channel": p.channel,
                    "disclosures": p.count,
                    "categories": list(p.categories),
                },
                actor=actor,
                subject=f"dsr:{request_id}",
            )
            ids.append(notice_id)
    return ids


@dataclass(frozen=True)
class NoticeInfo:
    """A notice as the console shows it (no values)."""

    id: str
    ref: str
    kind: str
    recipient: str
    channel: str
    status: str
    attempts: int
    created_at: str
    sent_at: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def notices(
    engine: Engine, ref: str | None = None, *, status: str | None = None, limit: int = 200
) -> list[NoticeInfo]:
    """The notices of one request (or consent push ``consent:<uid>``), or the latest ones;
    ``status``: only ``pending``, ``sent`` or ``failed``."""
    cols = [TABLE.c[n] for n in NoticeInfo.__dataclass_fields__]
    query = sa.select(*cols).order_by(TABLE.c.created_at.desc(), TABLE.c.recipient).limit(limit)
    if ref is not None:
        query = query.where(TABLE.c.ref == ref)
    if status is not None:
        query = query.where(TABLE.c.status == status)
    with connect(engine) as conn:
        return [NoticeInfo(*row) for row in conn.execute(query)]


def notice_counts(engine: Engine, refs: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per request id, how many of its notices are pending, sent and failed (one query)."""
    out = {r: {"pending": 0, "sent": 0, "failed": 0} for r in refs}
    if not refs:
        return out
    query = (
        sa.select(TABLE.c.ref, TABLE.c.status, sa.func.count())
        .where(TABLE.c.ref.in_(list(refs)))
        .group_by(TABLE.c.ref, TABLE.c.status)
    )
    with connect(engine) as conn:
        for ref, status, n in conn.execute(query):
            out[ref][status] = int(n)
    return out

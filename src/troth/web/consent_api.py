"""The consent API: record (and withdraw with the same call), current state, history, receipts.

Lookups take the subject in a POST body, never in the URL, so identifiers stay out of access logs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from troth.consent.events import NewEvent
from troth.consent.receipts import build_receipt, sign
from troth.web.app import Svc, require

router = APIRouter(prefix="/api/v1", tags=["consent"])

Text80 = Annotated[str, Field(min_length=1, max_length=80)]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320, description="identifier or troth ref h:…")
    consent_id: Text80
    kind: Literal["given", "refused", "withdrawn", "expired"]
    channel: Text80 | None = None
    event_time: str | None = Field(default=None, max_length=40)
    notice_version: str | None = Field(default=None, max_length=40)
    notice_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    collection_point: Text80 | None = None
    jurisdiction: str | None = Field(default=None, max_length=20)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320)
    consent_id: Text80
    channel: Text80 | None = None


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320)


class ReceiptIn(SubjectIn):
    signed: bool = False


class DecisionIn(SubjectIn):
    purpose: Text80
    gpc: bool = False


def _new(e: EventIn | WithdrawIn, request: Request, gpc: bool) -> NewEvent:
    extra: dict[str, Any] = e.model_dump(exclude={"subject", "consent_id", "kind", "channel"})
    return NewEvent(
        subject=e.subject,
        consent_id=e.consent_id,
        kind=e.kind if isinstance(e, EventIn) else "withdrawn",
        channel=e.channel,
        gpc=gpc,
        user_agent=(request.headers.get("user-agent") or "")[:400] or None,
        ip=request.client.host if request.client else None,
        **extra,
    )


@router.get("/consents", summary="The consents of the policy (ids, purposes, notices)")
def consents(svc: Svc) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "name": c.name,
            "purposes": c.purposes,
            "notice_version": c.notice.version,
            "mechanism": c.mechanism.value,
            "channel": c.channel,
        }
        for c in svc.policy.consents
    ]


@router.post(
    "/consent/events",
    status_code=201,
    summary="Record consent events (given, refused, withdrawn, expired); one or a batch",
    dependencies=[require("consent:write")],
)
def record(
    body: EventIn | Annotated[list[EventIn], Field(max_length=1000)],
    request: Request,
    svc: Svc,
    sec_gpc: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    items = body if isinstance(body, list) else [body]
    gpc = sec_gpc == "1"
    stored = svc.ledger.record_many([_new(e, request, gpc) for e in items], actor="api")
    return {"events": [s.to_dict() for s in stored]}


@router.post(
    "/consent/withdraw",
    status_code=201,
    summary="Withdraw a consent (the same as recording a 'withdrawn' event)",
    dependencies=[require("consent:write")],
)
def withdraw(
    body: WithdrawIn,
    request: Request,
    svc: Svc,
    sec_gpc: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    stored = svc.ledger.record(_new(body, request, sec_gpc == "1"), actor="api")
    return {"events": [stored.to_dict()]}


@router.post(
    "/consent/state",
    summary="Current state per consent of a subject",
    dependencies=[require("consent:read")],
)
def state(body: SubjectIn, svc: Svc) -> dict[str, Any]:
    states = svc.ledger.state(body.subject)
    return {
        "subject": svc.ledger.subject_ref(body.subject),
        "consents": [s.to_dict() for s in states.values()],
    }


@router.post(
    "/consent/history",
    summary="Every consent event of a subject, oldest first",
    dependencies=[require("consent:read")],
)
def history(body: SubjectIn, svc: Svc) -> dict[str, Any]:
    events = svc.ledger.history(body.subject)
    return {"subject": events[0].subject, "events": [e.to_dict() for e in events]}


@router.post(
    "/consent/receipt",
    summary="ISO/IEC TS 27560-style consent receipt, optionally signed as a JWS (HS256)",
    dependencies=[require("consent:read")],
)
def receipt(body: ReceiptIn, svc: Svc) -> dict[str, Any]:
    data = build_receipt(svc.ledger, body.subject)
    if body.signed:
        return {"receipt": data, "jws": sign(data, svc.receipt_key)}
    return {"receipt": data}


@router.post(
    "/decisions",
    summary="May the subject's data be processed for the purpose? (with the reason)",
    dependencies=[require("consent:read")],
)
def decide(
    body: DecisionIn, svc: Svc, sec_gpc: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    d = svc.decider.allows(body.subject, body.purpose, gpc=body.gpc or sec_gpc == "1")
    return {
        "allowed": d.allowed,
        "purpose": d.purpose,
        "reason": d.reason,
        "basis": d.basis,
        "consent_id": d.consent_id,
    }

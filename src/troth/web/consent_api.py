"""The consent API: record (and withdraw with the same call), current state, history, receipts.

Lookups take the subject in a POST body, never in the URL, so identifiers stay out of access logs.
A subject is a raw identifier (``subject``, hashed by troth) or a token troth issued for it
(``subject_token``, returned with every answer); never a hash made by the client.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from troth.consent.events import NewEvent
from troth.consent.receipts import build_receipt, sign
from troth.consent.subjects import Subject, issue_token, read_token, scoped_subject
from troth.web.app import Services, Svc, require, user_agent

router = APIRouter(prefix="/api/v1", tags=["consent"])

Text80 = Annotated[str, Field(min_length=1, max_length=80)]
ScopeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ScopeValue = Annotated[str, Field(min_length=1, max_length=80)]


class SubjectIn(BaseModel):
    """A subject: the raw identifier, or the ``subject_token`` troth returned for it."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=320,
        description="the person's identifier (e-mail, user id); troth hashes it",
    )
    subject_token: str | None = Field(
        default=None,
        max_length=200,
        description="instead of subject: the subject_token troth returned for the person",
    )
    scope: dict[ScopeName, ScopeValue] | None = Field(
        default=None,
        max_length=5,
        description='the scope the person acts in (a tenant: {"tenant": "42"}): consent '
        "given in one scope is not consent in another",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> SubjectIn:
        if (self.subject is None) == (self.subject_token is None):
            raise ValueError("send exactly one of subject and subject_token")
        if self.subject_token is not None and self.scope:
            raise ValueError(
                "a subject_token already names the person as troth stored them (in their "
                "scope, if any): send scope only with subject"
            )
        return self

    def base(self, svc: Services) -> Subject:
        """The person, whatever the scope."""
        if self.subject_token is not None:
            return read_token(svc.settings.secret_key, self.subject_token)
        return self.subject or ""  # one of the two is set (_one_subject)

    def resolve(self, svc: Services) -> Subject:
        """The person in the request's scope (the person alone without one)."""
        subject = self.base(svc)
        if not self.scope:
            return subject
        return scoped_subject(svc.settings.secret_key, subject, self.scope)


class EventIn(SubjectIn):
    consent_id: Text80
    kind: Literal["given", "refused", "withdrawn", "expired"]
    channel: Text80 | None = None
    event_time: str | None = Field(default=None, max_length=40)
    notice_version: str | None = Field(default=None, max_length=40)
    notice_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    collection_point: Text80 | None = None
    jurisdiction: str | None = Field(default=None, max_length=20)


class WithdrawIn(SubjectIn):
    consent_id: Text80
    channel: Text80 | None = None


class ReceiptIn(SubjectIn):
    signed: bool = False


class DecisionIn(SubjectIn):
    purpose: Text80
    gpc: bool = False


def _new(e: EventIn | WithdrawIn, request: Request, svc: Services, gpc: bool) -> NewEvent:
    extra: dict[str, Any] = e.model_dump(
        exclude={"subject", "subject_token", "scope", "consent_id", "kind", "channel"}
    )
    return NewEvent(
        subject=e.resolve(svc),
        consent_id=e.consent_id,
        kind=e.kind if isinstance(e, EventIn) else "withdrawn",
        channel=e.channel,
        gpc=gpc,
        user_agent=user_agent(request),
        ip=request.client.host if request.client else None,
        **extra,
    )


def _with_token(svc: Services, data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "subject_token": issue_token(svc.settings.secret_key, data["subject"])}


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
    stored = svc.ledger.record_many([_new(e, request, svc, gpc) for e in items], actor="api")
    return {"events": [_with_token(svc, s.to_dict()) for s in stored]}


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
    stored = svc.ledger.record(_new(body, request, svc, sec_gpc == "1"), actor="api")
    return {"events": [_with_token(svc, stored.to_dict())]}


@router.post(
    "/consent/state",
    summary="Current state per consent of a subject",
    dependencies=[require("consent:read")],
)
def state(body: SubjectIn, svc: Svc) -> dict[str, Any]:
    subject = body.resolve(svc)
    states = svc.ledger.state(subject)
    return _with_token(
        svc,
        {
            "subject": svc.ledger.subject_ref(subject),
            "consents": [s.to_dict() for s in states.values()],
        },
    )


@router.post(
    "/consent/history",
    summary="Every consent event of a subject, oldest first",
    dependencies=[require("consent:read")],
)
def history(body: SubjectIn, svc: Svc) -> dict[str, Any]:
    events = svc.ledger.history(body.resolve(svc))
    return _with_token(svc, {"subject": events[0].subject, "events": [e.to_dict() for e in events]})


@router.post(
    "/consent/receipt",
    summary="ISO/IEC TS 27560-style consent receipt, optionally signed as a JWS (HS256)",
    dependencies=[require("consent:read")],
)
def receipt(body: ReceiptIn, svc: Svc) -> dict[str, Any]:
    data = build_receipt(svc.ledger, body.resolve(svc))
    token = issue_token(svc.settings.secret_key, data["subject"])
    if body.signed:
        return {"receipt": data, "jws": sign(data, svc.receipt_key), "subject_token": token}
    return {"receipt": data, "subject_token": token}


@router.post(
    "/decisions",
    summary="May the subject's data be processed for the purpose? (with the reason)",
    dependencies=[require("consent:read")],
)
def decide(
    body: DecisionIn, svc: Svc, sec_gpc: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    d = svc.decider.allows(
        body.base(svc), body.purpose, gpc=body.gpc or sec_gpc == "1", scope=body.scope
    )
    return {
        "allowed": d.allowed,
        "purpose": d.purpose,
        "reason": d.reason,
        "basis": d.basis,
        "consent_id": d.consent_id,
    }

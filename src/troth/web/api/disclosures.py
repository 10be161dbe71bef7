"""``POST /api/v1/disclosures``: hand records to a recipient through the disclosure gateway.

The answer holds only the fields the policy lets the recipient receive for the purpose; a recipient,
purpose or legal request the policy does not allow is a 403 (and recorded in the ledger as
``disclosure.refused``). Every disclosure is written to the register (:mod:`troth.sharing`).
"""

from __future__ import annotations

import threading
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from troth.dsr.identity import Identity
from troth.sharing.gateway import Gateway
from troth.sharing.rules import LegalRequest
from troth.web.apikeys import KeyInfo
from troth.web.app import Services, Svc, require

router = APIRouter(prefix="/api/v1", tags=["disclosures"])
_lock = threading.Lock()

IdText = Annotated[str, Field(min_length=1, max_length=80)]
Scalar = str | int | float | bool | None
Record = Annotated[dict[Annotated[str, Field(max_length=128)], Scalar], Field(max_length=200)]


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    value: Annotated[str, Field(min_length=1, max_length=1000)]


class LegalRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: IdText
    purpose: IdText
    authority: Annotated[str, Field(min_length=1, max_length=200)]
    basis: Annotated[str, Field(min_length=1, max_length=200)]
    reference: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    categories: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)] = []
    confidential: bool = False
    reason: Annotated[str, Field(min_length=1, max_length=400)] | None = None


class DisclosuresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: IdText
    purpose: IdText
    table: Annotated[str, Field(min_length=1, max_length=260)] | None = Field(
        default=None, description="the records' source table (dataset.table) in the data map"
    )
    records: Annotated[list[Record], Field(min_length=1, max_length=1000)]
    subjects: Annotated[list[SubjectIn | None], Field(max_length=1000)] | None = Field(
        default=None,
        description="per record, the person's identity when the record carries none",
    )
    legal_request_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = Field(
        default=None, description="an approved legal request (POST /api/v1/legal-requests)"
    )

    @model_validator(mode="after")
    def _one_subject_per_record(self) -> DisclosuresIn:
        if self.subjects is not None and len(self.subjects) != len(self.records):
            raise ValueError("send one subject (or null) per record")
        return self


def gateway(request: Request, svc: Services) -> Gateway:
    """The app's gateway, built on first use from the project the app serves."""
    gw: Gateway | None = getattr(request.app.state, "disclosure_gateway", None)
    if gw is None:
        with _lock:
            gw = getattr(request.app.state, "disclosure_gateway", None)
            if gw is None:
                from troth.dsr.run import project_of

                project: FilePath = request.app.state.project
                _proj, datamap = project_of(project)
                gw = Gateway(svc.policy, datamap, svc.engine, key=svc.settings.secret_key)
                request.app.state.disclosure_gateway = gw
    return gw


@router.post(
    "/disclosures",
    status_code=201,
    summary="Disclose records to a recipient for a purpose: only the fields the policy allows",
)
def disclose(
    body: DisclosuresIn,
    request: Request,
    svc: Svc,
    key: Annotated[KeyInfo, require("disclosure:write")],
) -> dict[str, Any]:
    gw = gateway(request, svc)
    subjects = (
        None
        if body.subjects is None
        else [None if s is None else Identity(s.name, s.value) for s in body.subjects]
    )
    out = gw.disclose_many(
        body.recipient,
        body.purpose,
        body.records,
        table=body.table,
        subjects=subjects,
        legal_request=body.legal_request_id,
        actor=f"api-key:{key.id}",
    )
    return {
        "recipient": body.recipient,
        "purpose": body.purpose,
        "disclosures": [d.to_dict() for d in out],
    }


def _legal(request: LegalRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "authority": request.authority,
        "basis": request.basis,
        "reference": request.reference,
        "categories": list(request.categories),
        "confidential": request.confidential,
    }


@router.post(
    "/legal-requests",
    status_code=201,
    summary="Record a request from an authority (PL-9); it discloses nothing until approved",
)
def record_legal_request(
    body: LegalRequestIn,
    request: Request,
    svc: Svc,
    key: Annotated[KeyInfo, require("disclosure:write")],
) -> dict[str, Any]:
    legal = gateway(request, svc).record_legal_request(
        body.recipient,
        body.purpose,
        authority=body.authority,
        basis=body.basis,
        reference=body.reference,
        categories=body.categories,
        confidential=body.confidential,
        reason=body.reason,
        actor=f"api-key:{key.id}",
    )
    return {**_legal(legal), "status": "pending"}


@router.post(
    "/legal-requests/{request_id}/{decision}",
    summary="Approve or refuse a legal request (admin; not by the key that recorded it)",
)
def decide_legal_request(
    request_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    decision: Literal["approve", "refuse"],
    request: Request,
    svc: Svc,
    key: Annotated[KeyInfo, require("admin")],
) -> dict[str, Any]:
    legal = gateway(request, svc).legal
    actor = f"api-key:{key.id}"
    done = (
        legal.approve(request_id, actor=actor)
        if decision == "approve"
        else legal.refuse(request_id, actor=actor)
    )
    return {**_legal(done), "status": legal.status(request_id)}

"""The request API of the privacy team: file a request on behalf of a person, list, review, act.

Every action is audited with the API key's id as the actor (``apikey:<id>``). Identity values
travel only in the body of ``POST /api/v1/requests`` and are kept sealed until the request runs
(:mod:`troth.dsr.sealed`); answers carry ids, statuses, dates and counts, never values.

Scopes: ``requests:read`` (list, get), ``requests:write`` (file, verify, approve, retry, deny,
pause, resume, extend), ``requests:export`` (download an access export: it holds personal data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from troth.audit import Ledger
from troth.dsr import clock
from troth.dsr.filing import file_new, requeue, verify_identity
from troth.dsr.identity import Identity
from troth.dsr.queue import QueueFilter, list_requests, with_days_left
from troth.dsr.requests import Kind, Requests, Status
from troth.errors import ConfigError, RequestStateError
from troth.web.apikeys import KeyInfo
from troth.web.app import Services, Svc, require

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])

IdentityName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
IdentityValue = Annotated[str, Field(min_length=1, max_length=320)]
ScopeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ScopeValue = Annotated[str, Field(min_length=1, max_length=80)]
RequestId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Read = Annotated[KeyInfo, require("requests:read")]
Write = Annotated[KeyInfo, require("requests:write")]
Export = Annotated[KeyInfo, require("requests:export")]


class NewRequest(BaseModel):
    """A request filed on behalf of a person (by post, to the DPO's inbox)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["access", "erasure", "restriction"]
    identities: dict[IdentityName, IdentityValue] = Field(
        min_length=1,
        max_length=5,
        description='the person\'s identities by the data map\'s names: {"email": "..."}',
    )
    scope: dict[ScopeName, ScopeValue] | None = Field(
        default=None, max_length=5, description='the tenant the request is about: {"tenant": "7"}'
    )
    verified: bool = Field(
        description="the team verified the person's identity: the policy's approval rules "
        "apply at once (false: the request waits for POST .../verify)"
    )


class WithReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


def _requests(svc: Services, key: KeyInfo) -> Requests:
    return Requests(svc.engine, svc.settings.secret_key, actor=f"apikey:{key.id}")


def _project(svc: Services) -> Any:
    if svc.project is None:
        raise ConfigError("the app serves no project", where="create_app")
    return svc.project


@router.post("", status_code=201, summary="File a request on behalf of a person")
def create(body: NewRequest, svc: Svc, key: Write, response: Response) -> dict[str, Any]:
    """Returns the request; an open request of the same type for the same person is returned
    instead of a second one (200)."""
    identities = [Identity(n, v) for n, v in sorted(body.identities.items())]
    requests = _requests(svc, key)
    info, created = file_new(
        svc.engine,
        svc.settings.secret_key,
        _project(svc),
        Kind(body.type),
        identities,
        scope=body.scope,
        actor=requests.actor,
        verified=body.verified,
    )
    if not created:
        response.status_code = 200
    return with_days_left(info)


@router.get("", summary="List requests, the earliest due first")
def list_(
    svc: Svc,
    _key: Read,
    status: Annotated[Status | None, Query()] = None,
    type: Annotated[Kind | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    f = QueueFilter(
        status.value if status else None, type.value if type else None, overdue, limit, offset
    )
    return {"requests": [with_days_left(r) for r in list_requests(svc.engine, f)]}


@router.get("/{request_id}", summary="One request")
def get(request_id: RequestId, svc: Svc, _key: Read) -> dict[str, Any]:
    return with_days_left(Requests(svc.engine, svc.settings.secret_key).get(request_id))


@router.post("/{request_id}/verify", summary="Mark the person's identity verified by the team")
def verify(request_id: RequestId, svc: Svc, key: Write) -> dict[str, Any]:
    return with_days_left(verify_identity(_requests(svc, key), _project(svc), request_id))


@router.post("/{request_id}/approve", summary="Approve: the workers run it")
def approve(request_id: RequestId, svc: Svc, key: Write) -> dict[str, Any]:
    info = _requests(svc, key).transition(request_id, Status.approved, data={"rule": "reviewer"})
    return with_days_left(info)


@router.post("/{request_id}/retry", summary="Run a failed request again (the workers)")
def retry(request_id: RequestId, svc: Svc, key: Write) -> dict[str, Any]:
    return with_days_left(requeue(_requests(svc, key), request_id))


@router.post("/{request_id}/deny", summary="Deny, with the reason")
def deny(request_id: RequestId, body: WithReason, svc: Svc, key: Write) -> dict[str, Any]:
    info = _requests(svc, key).transition(request_id, Status.denied, reason=body.reason.strip())
    return with_days_left(info)


@router.post("/{request_id}/pause", summary="Pause while waiting for the person")
def pause(request_id: RequestId, body: WithReason, svc: Svc, key: Write) -> dict[str, Any]:
    return with_days_left(clock.pause(_requests(svc, key), request_id, body.reason))


@router.post("/{request_id}/resume", summary="Resume a paused request")
def resume(request_id: RequestId, svc: Svc, key: Write) -> dict[str, Any]:
    return with_days_left(clock.resume(_requests(svc, key), request_id))


@router.post("/{request_id}/extend", summary="Extend the due date once, with the reason")
def extend(request_id: RequestId, body: WithReason, svc: Svc, key: Write) -> dict[str, Any]:
    return with_days_left(clock.extend(_requests(svc, key), request_id, body.reason))


@router.get(
    "/{request_id}/export",
    summary="Download the export of a completed access request (zip)",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def export(request_id: RequestId, svc: Svc, key: Export) -> Response:
    info = Requests(svc.engine, svc.settings.secret_key).get(request_id)
    path = Path(svc.settings.home) / "exports" / f"{request_id}.zip"
    if info.kind != Kind.access or info.status != Status.completed:
        raise RequestStateError(
            f"request {request_id} has no export ({info.kind}, {info.status})",
            where="export",
            fix="an access request has its export once it completed",
        )
    if not path.is_file():
        return JSONResponse(
            {"error": "Gone", "message": f"the export of request {request_id} is no longer kept"},
            status_code=410,
        )
    Ledger(svc.engine).append(
        "dsr.export_downloaded",
        {"request_id": request_id, "bytes": path.stat().st_size},
        actor=f"apikey:{key.id}",
        subject=f"dsr:{request_id}",
    )
    return FileResponse(path, media_type="application/zip", filename=f"{request_id}.zip")

"""Filing a request for the workers: checked, recorded with its sealed identities, verified.

:func:`file_request` is what the request API (and the privacy centre) call: it checks the
identities and scope against the project's data map before anything is recorded, returns the open
request of the same kind for the same person instead of a second one (filing is idempotent),
records the request and its sealed identity values in one transaction, and, when the team
verified the person, moves it on as the policy's approval rules say. Each status change writes its
outbox row in its own transaction: an approved request is queued the moment it is approved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine

from troth.dsr.identity import Identity
from troth.dsr.requests import Kind, RequestInfo, Requests, Status
from troth.dsr.resolve import identity_forms
from troth.dsr.run import ProjectLike, _check_scope, plan_for, project_of
from troth.dsr.sealed import seal
from troth.errors import RequestError

#: request kinds workers can run (rectification carries new values: ``troth dsr rectify``)
QUEUED_KINDS = (Kind.access, Kind.erasure, Kind.restriction)


def check_request(
    project: ProjectLike, kind: Kind, identities: Sequence[Identity], scope: Mapping[str, str]
) -> None:
    """Refuse (RequestError) what the run would refuse: unknown identities, bad values, scope."""
    if kind not in QUEUED_KINDS:
        raise RequestError(
            f"a {kind.value} request cannot be queued",
            where="request type",
            fix="use access, erasure or restriction; rectify with `troth dsr rectify`",
        )
    if not identities:
        raise RequestError("a request needs at least one identity", fix="give an e-mail address")
    proj, datamap = project_of(project)
    plan = plan_for(
        proj, {i.name for i in identities}, "erase" if kind == Kind.erasure else "access"
    )  # built once per request shape and loaded project, as the run builds it
    identity_forms(datamap, identities)
    if kind != Kind.restriction:
        _check_scope(plan, scope)


def file_request(
    engine: Engine,
    secret_key: bytes,
    project: ProjectLike,
    kind: Kind,
    identities: Sequence[Identity],
    *,
    scope: Mapping[str, str] | None = None,
    actor: str,
    verified: bool,
    approve: bool | None = None,
    verified_how: str = "team",
) -> RequestInfo:
    """:func:`file_new`, without telling whether the request is new."""
    return file_new(
        engine,
        secret_key,
        project,
        kind,
        identities,
        scope=scope,
        actor=actor,
        verified=verified,
        approve=approve,
        verified_how=verified_how,
    )[0]


def file_new(
    engine: Engine,
    secret_key: bytes,
    project: ProjectLike,
    kind: Kind,
    identities: Sequence[Identity],
    *,
    scope: Mapping[str, str] | None = None,
    actor: str,
    verified: bool,
    approve: bool | None = None,
    verified_how: str = "team",
) -> tuple[RequestInfo, bool]:
    """Record a request for the workers (or return the open twin) and move it on; returns the
    request and whether it is new.

    *verified*: the person's identity was checked (by the team, or the privacy centre's link).
    *approve*: approve it now; None: as the policy's approval rules say (``requests.approval``:
    ``automatic`` approves, ``reviewer`` waits)."""
    scope = dict(scope or {})
    check_request(project, kind, identities, scope)
    proj, _ = project_of(project)
    keyed = [*identities, *(Identity(f"scope_{k}", str(v)) for k, v in sorted(scope.items()))]
    requests = Requests(engine, secret_key, actor=actor)
    info = requests.find_open(kind, keyed)
    created = info is None
    if approve is None:
        approve = not proj.policy.policy.requests.needs_reviewer(kind.value)
    status = Status(info.status) if info else Status.received
    moves: list[tuple[Status, Mapping[str, Any] | None]] = []
    if verified and status == Status.received:
        moves.append((Status.identity_verified, {"method": verified_how}))
        status = Status.identity_verified
    if approve and status == Status.identity_verified:
        moves.append((Status.approved, {"rule": "automatic"}))
    if info is None:  # recorded, sealed, verified and approved in one transaction

        def sealed(conn: Connection, new: RequestInfo) -> None:
            seal(conn, secret_key, new.id, identities, scope)

        jurisdictions = [j.value for j in proj.policy.policy.jurisdictions]
        info = requests.submit(kind, keyed, jurisdictions, also=sealed, then=moves)
    elif moves:
        info = requests.advance(info.id, moves)
    return info, created


def verify_identity(requests: Requests, project: ProjectLike, request_id: str) -> RequestInfo:
    """The team checked the person's identity (by post, at the DPO's desk): the request is
    verified and, when the policy's approval rules say so, approved, in one transaction."""
    proj, _ = project_of(project)
    info = requests.get(request_id)
    moves: list[tuple[Status, Mapping[str, Any] | None]] = [
        (Status.identity_verified, {"method": "team"})
    ]
    if not proj.policy.policy.requests.needs_reviewer(info.kind):
        moves.append((Status.approved, {"rule": "automatic"}))
    return requests.advance(request_id, moves)


def requeue(requests: Requests, request_id: str) -> RequestInfo:
    """Ask the workers to run a ``failed`` request again (after the team fixed the cause): an
    audit entry and its outbox row (``dsr.retry``) in one transaction."""
    from sqlalchemy.orm import Session

    from troth.dsr.models import DsrRequest
    from troth.dsr.sealed import TABLE as SEALED
    from troth.errors import RequestNotFoundError, RequestStateError
    from troth.store import outbox

    with requests.ledger.transaction() as tx, Session(bind=tx.conn) as s:
        row = s.get(DsrRequest, request_id)
        if row is None:
            raise RequestNotFoundError(f"no request {request_id!r}", where="troth state DB")
        info = RequestInfo.from_row(row)
        if info.status != Status.failed:
            raise RequestStateError(
                f"request {request_id} is {info.status}, not failed",
                where="request lifecycle",
                fix="only a failed request is run again",
            )
        sealed = tx.conn.execute(SEALED.select().where(SEALED.c.request_id == request_id)).first()
        if sealed is None:
            raise RequestStateError(
                f"request {request_id} was not filed for the workers",
                where="request lifecycle",
                fix="run it again with `troth dsr` as it was first run",
            )
        entry = requests._entry(info, {"reason": info.reason or ""})._replace(kind="dsr.retry")
        tx.append_many([entry])
        outbox.emit(tx.conn, "dsr.retry", {"request_id": request_id, "type": info.kind})
    return info

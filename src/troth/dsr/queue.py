"""The privacy team's view of the requests: filtered, sorted by due date, with the days left."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from troth.dsr.models import DsrRequest
from troth.dsr.requests import OPEN, RequestInfo, now
from troth.store.db import translate_errors


def days_left(info: RequestInfo, at: datetime | None = None) -> int | None:
    """Whole days until the due date (negative: overdue); None for a request that ended."""
    if info.status not in {s.value for s in OPEN}:
        return None
    delta = datetime.fromisoformat(info.due_at) - (at or now())
    return math.floor(delta.total_seconds() / 86400)


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    kind: str | None = None
    #: True: open requests past their due date; False: those not past it
    overdue: bool | None = None
    limit: int = 100
    offset: int = 0
    #: due before this day (``YYYY-MM-DD``; the day itself excluded)
    due_before: str | None = None


def list_requests(engine: Engine, f: QueueFilter) -> list[RequestInfo]:
    """Requests matching *f*, the earliest due first (one indexed query)."""
    stmt = sa.select(DsrRequest)
    if f.status:
        stmt = stmt.where(DsrRequest.status == f.status)
    if f.kind:
        stmt = stmt.where(DsrRequest.kind == f.kind)
    if f.overdue is not None:
        at = now().isoformat()
        stmt = stmt.where(DsrRequest.status.in_([s.value for s in OPEN]))
        stmt = stmt.where(DsrRequest.due_at < at if f.overdue else DsrRequest.due_at >= at)
    if f.due_before:
        stmt = stmt.where(DsrRequest.due_at < f.due_before)
    stmt = stmt.order_by(DsrRequest.due_at, DsrRequest.id).limit(f.limit).offset(f.offset)
    with translate_errors(engine), Session(engine) as s:
        return [RequestInfo.from_row(r) for r in s.scalars(stmt)]


def with_days_left(info: RequestInfo) -> dict[str, Any]:
    return {**info.to_dict(), "days_left": days_left(info)}

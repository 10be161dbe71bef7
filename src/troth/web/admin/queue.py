"""The request queue: filters by status, type, due date and overdue; the earliest due first."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from troth.dsr.queue import QueueFilter, list_requests, with_days_left
from troth.dsr.requests import Kind, Status
from troth.web.admin.context import PATH, View, Web

router = APIRouter(prefix=PATH, include_in_schema=False)
PAGE = 100


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/requests")
async def queue(
    request: Request,
    web: Web,
    _actor: View,
    status: str = "",
    type: str = "",
    due_before: str = "",
    overdue: str = "",
    page: str = "0",
) -> HTMLResponse:
    statuses = [s.value for s in Status]
    kinds = [k.value for k in Kind]
    before = _date(due_before)
    number = int(page) if re.fullmatch(r"[0-9]{1,5}", page) else 0
    f = QueueFilter(
        status=status if status in statuses else None,
        kind=type if type in kinds else None,
        overdue={"yes": True, "no": False}.get(overdue),
        limit=PAGE,
        offset=number * PAGE,
        due_before=before.isoformat() if before else None,
    )
    rows = await run_in_threadpool(list_requests, web.engine, f)
    values = {"status": status, "type": type, "due_before": due_before, "overdue": overdue}
    return web.page(
        request,
        "queue.html",
        {
            "rows": [with_days_left(r) for r in rows],
            "statuses": statuses,
            "kinds": kinds,
            "values": values,
            "page": number,
            "more": len(rows) == PAGE,
            "bad_date": bool(due_before) and before is None,
        },
        title="Requests",
    )

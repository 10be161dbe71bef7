"""The audit ledger: the latest entries (paged by sequence number) and a verify button."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from troth.audit import verify
from troth.audit.entry import Entry
from troth.audit.ledger import COLUMNS
from troth.store.db import connect
from troth.web.admin.context import PATH, AdminWeb, Form, View, Web

router = APIRouter(prefix=PATH, include_in_schema=False)
PAGE = 100


def entries(web: AdminWeb, before: int | None) -> list[Entry]:
    """Up to :data:`PAGE` entries before sequence number *before*, newest first."""
    where = f"WHERE seq < {int(before)} " if before else ""
    sql = f"SELECT {COLUMNS} FROM audit_entry {where}ORDER BY seq DESC LIMIT {PAGE}"
    with connect(web.engine) as conn:
        return [Entry.from_row(tuple(r)) for r in conn.exec_driver_sql(sql)]


def _page(
    web: AdminWeb, request: Request, before: int | None, result: object = None
) -> HTMLResponse:
    rows = entries(web, before)
    older = rows[-1].seq if len(rows) == PAGE else None
    context = {"rows": rows, "older": older, "result": result}
    return web.page(request, "audit.html", context, title="Audit ledger")


@router.get("/audit")
async def audit(request: Request, web: Web, _actor: View, before: str = "") -> HTMLResponse:
    page_before = int(before) if re.fullmatch(r"[0-9]{1,18}", before) else None
    return await run_in_threadpool(_page, web, request, page_before)


@router.post("/audit/verify")
async def verify_ledger(request: Request, web: Web, _actor: View, _f: Form) -> HTMLResponse:
    """Checks the whole chain, the head row, the anchor and the audited rows (read-only)."""

    def run() -> HTMLResponse:
        result = verify(web.engine, settings=web.settings)
        return _page(web, request, None, result)

    return await run_in_threadpool(run)

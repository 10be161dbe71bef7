"""The access copy's download: the link, a fresh code, the zip once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from troth.centre.codes import Outcome
from troth.centre.service import RateLimitedError, Verified
from troth.errors import NotifyError
from troth.web.centre.context import CentreWeb, centre_web
from troth.web.centre.pages import log, outcome_error, refused, verify_page
from troth.web.centre.security import harden

router = APIRouter(prefix="/privacy/download", include_in_schema=False)
Web = Annotated[CentreWeb, Depends(centre_web)]


def gone(web: CentreWeb, request: Request) -> HTMLResponse:
    return web.page(request, "gone.html", status=410, title="Link no longer valid")


@router.get("/{token}")
def download_page(request: Request, web: Web, token: str) -> HTMLResponse:
    if web.downloads.find(token) is None:
        return gone(web, request)
    return web.page(request, "download.html", {"token": token}, title="Download your data")


@router.post("/{token}")
async def download_code(request: Request, web: Web, token: str) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    try:
        code_id = await run_in_threadpool(web.downloads.ask_code, token)
    except RateLimitedError:
        return web.page(request, "limited.html", status=429, title="Too many attempts")
    except NotifyError as exc:
        log.error("privacy centre: a code could not be sent (%s)", type(exc).__name__)
        return web.page(request, "unavailable.html", status=503, title="Try again later")
    if code_id is None:
        return gone(web, request)
    return RedirectResponse(f"/privacy/download/{token}/code/{code_id}", status_code=303)


@router.get("/{token}/code/{code_id}")
def download_code_form(request: Request, web: Web, token: str, code_id: str) -> HTMLResponse:
    return verify_page(web, request, code_id, action=f"download/{token}/code")


@router.post("/{token}/code/{code_id}")
async def download_file(request: Request, web: Web, token: str, code_id: str) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    code = str(form.get("code") or "")[:20]
    outcome, left, content = await run_in_threadpool(web.downloads.take, token, code_id, code)
    if outcome is not Outcome.ok or content is None:
        if outcome is Outcome.unknown:
            return gone(web, request)
        error = outcome_error(web, Verified(outcome, left))
        return verify_page(
            web, request, code_id, error=error, status=400, action=f"download/{token}/code"
        )
    response = Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="your-data.zip"'},
    )
    harden(request, response)
    return response

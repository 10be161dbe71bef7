"""The centre's pages: home, the policy, the request form, code verification, status."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from troth.centre.codes import MAX_TRIES, Outcome
from troth.centre.service import KINDS, SESSION_SECONDS, Ask, RateLimitedError, Verified
from troth.dsr.identity import Identity
from troth.errors import NotifyError, RequestError
from troth.policy.render import render_html
from troth.web.centre.context import STATIC, CentreWeb, centre_web
from troth.web.centre.security import harden

log = logging.getLogger("troth.web.centre")
router = APIRouter(prefix="/privacy", include_in_schema=False)
Web = Annotated[CentreWeb, Depends(centre_web)]
MAX_FIELDS = 3


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def refused(web: CentreWeb, request: Request) -> HTMLResponse:
    return web.page(request, "refused.html", status=403, title="Form expired")


# pages without database work run on the event loop (no thread hop): they only render
@router.get("")
@router.get("/")
async def home(request: Request, web: Web) -> HTMLResponse:
    return web.page(request, "home.html", title="Your privacy", cached=True)


@router.get("/style.css")
def stylesheet(request: Request) -> Response:
    response = Response((STATIC / "centre.css").read_text(), media_type="text/css")
    response.headers["Cache-Control"] = "max-age=300"
    harden(request, response)
    return response


@router.get("/brand.css")
def brand_stylesheet(request: Request, web: Web) -> Response:
    """The company's own stylesheet (``<project>/centre/brand.css``), after troth's."""
    path = web.brand_css
    if path is None:
        return web.page(request, "notfound.html", status=404, title="Not found")
    response = Response(path.read_text(), media_type="text/css")
    harden(request, response)
    return response


@router.get("/logo")
def logo(request: Request, web: Web) -> Response:
    path = web.logo
    if path is None:
        return web.page(request, "notfound.html", status=404, title="Not found")
    kind = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    response = Response(path.read_bytes(), media_type=kind)
    harden(request, response)
    return response


@router.get("/policy")
async def policy(request: Request, web: Web) -> HTMLResponse:
    context = {"html_url": "/privacy/policy.html"}
    return web.page(request, "policy.html", context, title="Policy", cached=True)


@router.get("/policy.html")
def policy_document(request: Request, web: Web) -> HTMLResponse:
    """The full rendered policy (its own stylesheet is inline; still no scripts)."""
    response = HTMLResponse(render_html(web.document))
    harden(request, response, csp="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'")
    return response


@router.get("/request")
async def request_form(request: Request, web: Web, kind: str = "access") -> HTMLResponse:
    kind = kind if kind in KINDS else "access"
    return form_page(web, request, {"kind": kind}, cached=kind == "access")


def form_page(
    web: CentreWeb,
    request: Request,
    values: dict[str, Any],
    error: str | None = None,
    *,
    cached: bool = False,
) -> HTMLResponse:
    return web.page(
        request,
        "request.html",
        {
            "values": values,
            "error": error,
            "kinds": KINDS,
            "fields": web.centre.fields(),
            "scopes": web.centre.scopes(),
            "max_fields": MAX_FIELDS,
        },
        status=400 if error else 200,
        title="Make a request",
        cached=cached,
    )


def ask_of(form: FormData) -> Ask:
    kind = str(form.get("kind") or "")
    channel = str(form.get("identity_type") or "email")
    identity = Identity(
        channel if channel in ("email", "phone") else "email", str(form.get("identity") or "")
    )
    details: dict[str, Any] = {}
    if kind == "rectification":
        changes = {}
        for i in range(1, MAX_FIELDS + 1):
            address, value = str(form.get(f"field_{i}") or ""), str(form.get(f"value_{i}") or "")
            if address and value.strip():
                changes[address] = value.strip()
        details["changes"] = changes
    if kind == "objection":
        details["purpose"] = str(form.get("purpose") or "")
    if kind == "withdraw_consent":
        details["consent"] = str(form.get("consent") or "")
    scope = {
        str(k)[6:]: str(v).strip()
        for k, v in form.multi_items()
        if str(k).startswith("scope_") and str(v).strip()
    }
    if scope:
        details["scope"] = scope
    return Ask(kind, identity, details)


@router.post("/request")
async def request_submit(request: Request, web: Web) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    values = {k: str(v) for k, v in form.items() if k != "csrf"}
    try:
        ask = ask_of(form)
        code_id = await run_in_threadpool(web.centre.start, ask, ip=client_ip(request))
    except RateLimitedError:
        return web.page(request, "limited.html", status=429, title="Too many attempts")
    except NotifyError as exc:
        log.error("privacy centre: a code could not be sent (%s)", type(exc).__name__)
        return web.page(request, "unavailable.html", status=503, title="Try again later")
    except RequestError as exc:
        return form_page(web, request, values, error=web.gettext(exc.message))
    return RedirectResponse(f"/privacy/verify/{code_id}", status_code=303)


@router.get("/verify/{code_id}")
def verify_form(request: Request, web: Web, code_id: str) -> HTMLResponse:
    return verify_page(web, request, code_id)


def verify_page(
    web: CentreWeb,
    request: Request,
    code_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    action: str = "verify",
) -> HTMLResponse:
    return web.page(
        request,
        "verify.html",
        {"code_id": code_id, "error": error, "action": action, "max_tries": MAX_TRIES},
        status=status,
        title="Enter your code",
    )


def N_(message: str) -> str:
    return message


MESSAGES = {
    Outcome.expired: N_("This code has expired. Ask for a new one."),
    Outcome.locked: N_("This code can no longer be used. Ask for a new one."),
    Outcome.unknown: N_("This code can no longer be used. Ask for a new one."),
}


def outcome_error(web: CentreWeb, result: Verified) -> str:
    if result.outcome is Outcome.wrong:
        left = result.tries_left
        text = web.messages.ngettext(
            "That code is not right. You have %(left)d try left.",
            "That code is not right. You have %(left)d tries left.",
            left,
        )
        return text % {"left": left}
    return web.gettext(MESSAGES[result.outcome])


@router.post("/verify/{code_id}")
async def verify_submit(request: Request, web: Web, code_id: str) -> Response:
    form = await request.form()
    if not web.guard.csrf_ok(request, str(form.get("csrf") or "")):
        return refused(web, request)
    code = str(form.get("code") or "")[:20]
    checked = await run_in_threadpool(web.centre.codes.check, code_id, "request", code)
    result = await web.filing(web.centre.complete, checked, str(request.base_url))
    if result.outcome is not Outcome.ok:
        return verify_page(web, request, code_id, error=outcome_error(web, result), status=400)
    if result.status_token:
        target = f"/privacy/status/{result.status_token}"
    else:
        target = "/privacy/preferences?done=" + (result.kind or "")
    response = RedirectResponse(target, status_code=303)
    if result.subject and (result.status_token is None or not result.manual):
        web.guard.sign_in(request, response, result.subject, SESSION_SECONDS)
    harden(request, response)
    return response


@router.get("/status/{token}")
def status(request: Request, web: Web, token: str) -> HTMLResponse:
    found = web.centre.by_token(token)
    if found is None:
        return web.page(request, "notfound.html", status=404, title="Not found")
    info, manual = found
    return web.page(
        request,
        "status.html",
        {"info": info, "manual": manual, "token": token},
        title="Your request",
    )

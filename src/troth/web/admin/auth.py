"""Signing in and out of the console, and its stylesheet.

A sign-in is refused, with the same message whatever was wrong, when the name, password or TOTP
code is wrong, the user is disabled, or the name or the client's address is locked out. A
successful one ends the session the browser presented and starts a new one (a new random id:
no fixation), and a new CSRF cookie. Both outcomes are audited with the user's id only.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from troth.audit import Ledger
from troth.web.admin.context import (
    CSRF_COOKIE,
    PATH,
    SESSION_COOKIE,
    AdminWeb,
    Form,
    View,
    Web,
    client_ip,
    secure_transport,
    stylesheet_path,
)
from troth.web.centre.context import STATIC
from troth.web.centre.security import harden, set_cookie

router = APIRouter(prefix=PATH, include_in_schema=False)
REFUSED = "Those details are not right, or the account is locked. Try again later."
PLAIN_HTTP = (
    "The console signs in over HTTPS only (or from this machine): serve it behind TLS, with "
    "troth serve --trusted-proxy for the proxy's address."
)


@router.get("/style.css")
def stylesheet(request: Request) -> Response:
    text = (STATIC / "centre.css").read_text() + stylesheet_path().read_text()
    response = Response(text, media_type="text/css")
    response.headers["Cache-Control"] = "max-age=300"
    harden(request, response)
    return response


def login_page(
    web: AdminWeb, request: Request, error: str | None = None, status: int = 200
) -> HTMLResponse:
    if not secure_transport(request):
        error, status = PLAIN_HTTP, 403
    return web.page(request, "login.html", {"error": error}, status=status, title="Sign in")


@router.get("/login")
def login_form(request: Request, web: Web) -> HTMLResponse:
    return login_page(web, request)


@router.post("/login")
async def login(request: Request, web: Web, form: Form) -> Response:
    if not secure_transport(request):
        return login_page(web, request)
    name = str(form.get("name") or "")[:80]
    password = str(form.get("password") or "")
    code = str(form.get("code") or "")[:12]
    ip = client_ip(request)
    return await run_in_threadpool(_sign_in, web, request, name, password, code, ip)


def _sign_in(
    web: AdminWeb, request: Request, name: str, password: str, code: str, ip: str | None
) -> Response:
    ledger = Ledger(web.engine)
    if web.lockout.locked(name, ip):
        ledger.append("console.login_refused", {"reason": "locked"}, actor="console")
        return login_page(web, request, REFUSED, 401)
    user = web.users.check_login(name, password, code)
    if user is None:
        locked = web.lockout.failed(name, ip)
        data = {"reason": "locked" if locked else "bad credentials"}
        ledger.append("console.login_refused", data, actor="console")
        return login_page(web, request, REFUSED, 401)
    web.lockout.succeeded(name)
    web.sessions.sweep()  # ended sessions go (a sign-in is rare enough to pay for it)
    token = web.sessions.start(user.id, request.cookies.get(SESSION_COOKIE))
    ledger.append(
        "console.login",
        {"user_id": user.id, "role": user.role, "totp": user.totp},
        actor=f"user:{user.id}",
        subject=f"user:{user.id}",
    )
    response = RedirectResponse(f"{PATH}/requests", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=None, path=PATH)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(32), max_age=None, path=PATH)
    harden(request, response)
    return response


@router.post("/logout")
def logout(request: Request, web: Web, actor: View, _form: Form) -> Response:
    web.sessions.end(request.cookies.get(SESSION_COOKIE))
    Ledger(web.engine).append(
        "console.logout",
        {"user_id": actor.user_id},
        actor=actor.audit,
        subject=f"user:{actor.user_id}",
    )
    response = RedirectResponse(f"{PATH}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PATH)
    harden(request, response)
    return response


@router.get("")
@router.get("/")
def home(request: Request, _actor: View) -> Response:
    response = RedirectResponse(f"{PATH}/requests", status_code=303)
    harden(request, response)
    return response

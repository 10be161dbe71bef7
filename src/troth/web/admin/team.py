"""The team's access: console users (admin) and API keys (admin, privacy officer).

A new API key is shown once, on the page that answers its creation; troth keeps its HMAC only.
Users added here get a password from the admin; the user changes it with ``troth user passwd``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from troth.console.roles import Role, parse_role
from troth.errors import TrothError
from troth.web.admin.context import PATH, Admin, AdminWeb, Form, Manage, Web
from troth.web.apikeys import SCOPES, create_key, list_keys, revoke_key

router = APIRouter(prefix=PATH, include_in_schema=False)


def _keys_page(
    web: AdminWeb, request: Request, *, new_key: str | None = None, error: str | None = None
) -> HTMLResponse:
    context = {"keys": list_keys(web.engine), "scopes": SCOPES, "new_key": new_key, "error": error}
    status = 400 if error else 200
    return web.page(request, "keys.html", context, status=status, title="API keys")


@router.get("/keys")
def keys(request: Request, web: Web, _actor: Manage) -> HTMLResponse:
    return _keys_page(web, request)


@router.post("/keys")
async def key_create(request: Request, web: Web, actor: Manage, form: Form) -> HTMLResponse:
    scopes = [str(s) for s in form.getlist("scope")]
    label = " ".join(str(form.get("label") or "").split())[:200]

    def run() -> HTMLResponse:
        try:
            key = create_key(web.engine, web.settings.secret_key, scopes, label, actor=actor.audit)
        except TrothError as exc:
            return _keys_page(web, request, error=exc.one_line())
        return _keys_page(web, request, new_key=key)

    return await run_in_threadpool(run)


@router.post("/keys/{key_id}/revoke")
async def key_revoke(request: Request, web: Web, actor: Manage, _f: Form, key_id: str) -> Response:
    def run() -> Response:
        try:
            revoke_key(web.engine, key_id[:40], actor=actor.audit)
        except TrothError as exc:
            return _keys_page(web, request, error=exc.one_line())
        return web.back(request, f"{PATH}/keys", "revoked")

    return await run_in_threadpool(run)


def _users_page(web: AdminWeb, request: Request, error: str | None = None) -> HTMLResponse:
    context = {"users": web.users.list(), "roles": [r.value for r in Role], "error": error}
    return web.page(request, "users.html", context, status=400 if error else 200, title="Users")


@router.get("/users")
def users(request: Request, web: Web, _actor: Admin) -> HTMLResponse:
    return _users_page(web, request)


@router.post("/users")
async def user_add(request: Request, web: Web, actor: Admin, form: Form) -> Response:
    def run() -> Response:
        try:
            role = parse_role(str(form.get("role") or ""))
            name, password = str(form.get("name") or ""), str(form.get("password") or "")
            web.users.add(name, role, password, actor=actor.audit)
        except TrothError as exc:
            return _users_page(web, request, exc.one_line())
        return web.back(request, f"{PATH}/users", "added")

    return await run_in_threadpool(run)


@router.post("/users/{user_id}/disable")
async def user_disable(
    request: Request, web: Web, actor: Admin, _f: Form, user_id: str
) -> Response:
    def run() -> Response:
        user = web.users.get(user_id[:32])
        if user is None:
            return _users_page(web, request, "no such user")
        web.users.disable(user.name, actor=actor.audit)
        return web.back(request, f"{PATH}/users", "disabled")

    return await run_in_threadpool(run)

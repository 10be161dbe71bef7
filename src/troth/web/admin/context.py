"""What the console's routes share: users, sessions, lock-out, templates, and the guards.

Every ``/admin`` route but the sign-in page and the stylesheet takes :func:`need` (a signed-in
user whose role grants the permission) and every POST :func:`form` (the CSRF token): a test walks
the app's routes and fails for one without them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from troth.config import Settings
from troth.console.lockout import Lockout
from troth.console.roles import Perm, allowed
from troth.console.sessions import Actor, Sessions
from troth.console.users import Users, utcnow
from troth.policy.model import Policy
from troth.project import Project
from troth.web.centre.security import Guard, harden, set_cookie

SESSION_COOKIE = "troth_admin"
CSRF_COOKIE = "troth_admin_csrf"
PATH = "/admin"


class Refused(Exception):
    """A console request without a session (401), without the role (403) or without a valid
    CSRF token (403)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


@dataclass
class AdminWeb:
    engine: Engine
    settings: Settings
    project: Project
    users: Users
    sessions: Sessions
    lockout: Lockout
    guard: Guard
    templates: Environment

    @property
    def policy(self) -> Policy:
        return self.project.policy.policy

    def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        title: str = "",
    ) -> HTMLResponse:
        token, fresh = self.guard.csrf(request)
        actor: Actor | None = getattr(request.state, "actor", None)
        html = self.templates.get_template(name).render(
            title=title,
            csrf=token,
            path=request.url.path,
            actor=actor,
            can=lambda perm: actor is not None and allowed(actor.role, Perm(perm)),
            org=self.policy.organisation,
            **(context or {}),
        )
        response = HTMLResponse(html, status_code=status)
        if fresh:
            set_cookie(request, response, CSRF_COOKIE, fresh, max_age=None, path=PATH)
        harden(request, response)
        return response

    def back(self, request: Request, target: str, flash: str | None = None) -> Response:
        """303 to *target* (a console path) after a POST."""
        if flash:
            target += ("&" if "?" in target else "?") + "done=" + flash
        response = RedirectResponse(target, status_code=303)
        harden(request, response)
        return response


def admin_web(request: Request) -> AdminWeb:
    web: AdminWeb = request.app.state.admin
    return web


Web = Annotated[AdminWeb, Depends(admin_web)]


def need(perm: Perm) -> Any:
    """The signed-in user of the request, refused unless their role grants *perm*."""

    def guard(request: Request, web: Web) -> Actor:
        actor = web.sessions.lookup(request.cookies.get(SESSION_COOKIE))
        if actor is None:
            raise Refused(401, "sign in")
        request.state.actor = actor
        if not allowed(actor.role, perm):
            raise Refused(403, f"the {actor.role} role cannot do this ({perm.value})")
        return actor

    guard.perm = perm  # type: ignore[attr-defined]  # read by the route test
    return Depends(guard)


async def checked_form(request: Request, web: Web) -> FormData:
    """The posted form, refused without this browser's CSRF token."""
    data = await request.form()
    if not web.guard.csrf_ok(request, str(data.get("csrf") or "")):
        raise Refused(403, "the form expired; open the page again")
    return data


Form = Annotated[FormData, Depends(checked_form)]
View = Annotated[Actor, need(Perm.view)]
Review = Annotated[Actor, need(Perm.review)]
Manage = Annotated[Actor, need(Perm.manage)]
Admin = Annotated[Actor, need(Perm.users)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def secure_transport(request: Request) -> bool:
    """HTTPS (directly or behind a trusted proxy), or a browser on this machine."""
    if request.url.scheme == "https":
        return True
    host = client_ip(request) or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("troth.web.admin", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["today"] = date.today
    return env


def install(app: FastAPI, settings: Settings, project: Project, engine: Engine) -> None:
    """Add the console to *app*: its routes, shared state and refusal pages."""
    from troth.web.admin import auth, ledger, overview, queue, request_page, team

    secret = settings.secret_key
    users = Users(engine, secret)
    app.state.admin = AdminWeb(
        engine=engine,
        settings=settings,
        project=project,
        users=users,
        sessions=Sessions(engine, utcnow),
        lockout=Lockout(engine, secret, utcnow),
        guard=Guard(secret, csrf_cookie=CSRF_COOKIE),
        templates=_templates(),
    )

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        web = admin_web(request)
        if exc.status == 401 and request.method == "GET":
            response: Response = RedirectResponse(f"{PATH}/login", status_code=303)
            harden(request, response)
            return response
        return web.page(
            request, "refused.html", {"why": exc.why}, status=exc.status, title="Refused"
        )

    for module in (auth, queue, request_page, ledger, overview, team):
        app.include_router(module.router)


def stylesheet_path() -> Path:
    return Path(__file__).with_name("static") / "admin.css"

"""Every /admin route, enumerated from the app (a new route without a guard fails here): refused
without a session, refused to roles that lack its permission, and every POST refused without the
browser's CSRF token. Only the sign-in page and the stylesheet are public."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from console_support import Console, csrf, make_console
from fastapi import FastAPI
from fastapi.routing import APIRoute

from troth.console.roles import GRANTS, Perm, Role
from troth.web.admin.context import checked_form

PUBLIC = {("GET", "/admin/login"), ("POST", "/admin/login"), ("GET", "/admin/style.css")}
IDS = {"request_id": "0" * 32, "user_id": "0" * 32, "key_id": "0a0a0a0a0a0a"}


def _walk(routes: list[Any]) -> list[Any]:
    out: list[Any] = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out += _walk(list(inner.routes)) if inner is not None else [r]
    return out


def _deps(dependant: Any) -> list[Any]:
    out = []
    for d in dependant.dependencies:
        out += [d.call, *_deps(d)]
    return out


def admin_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    out = []
    for r in _walk(list(app.routes)):
        if isinstance(r, APIRoute) and r.path.startswith("/admin"):
            path = re.sub(r"\{(\w+)\}", lambda m: IDS[m.group(1)], r.path)
            out.extend((m, path, r) for m in sorted(r.methods))
    return out


def perm_of(route: APIRoute) -> Perm | None:
    perms = [getattr(c, "perm", None) for c in _deps(route.dependant)]
    found = [p for p in perms if p is not None]
    return found[0] if found else None


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    mp = pytest.MonkeyPatch()
    mp.setenv("TROTH_SECRET_KEY", "console-test-secret-0123456789abcdef")
    path: Path = tmp_path_factory.mktemp("routes")
    mp.setenv("TROTH_HOME", str(path / "home"))
    mp.delenv("TROTH_DATABASE_URL", raising=False)
    yield make_console(path)  # type: ignore[misc]
    mp.undo()


def test_the_console_has_its_routes(console: Console) -> None:
    routes = admin_routes(console.app)
    assert len(routes) >= 15
    assert {(m, p) for m, p, _ in routes} >= PUBLIC


def test_every_route_but_the_public_ones_has_a_guard_and_every_post_a_csrf_check(
    console: Console,
) -> None:
    for method, path, route in admin_routes(console.app):
        if (method, path) in PUBLIC:
            continue
        assert perm_of(route) is not None, f"{method} {path} has no role guard"
        if method == "POST":
            assert checked_form in _deps(route.dependant), f"{method} {path} has no CSRF check"
    login = next(r for m, p, r in admin_routes(console.app) if (m, p) == ("POST", "/admin/login"))
    assert checked_form in _deps(login.dependant)


def test_no_route_answers_without_a_session(console: Console) -> None:
    c = console.client()
    token = csrf(c)  # a valid CSRF token: the session is what is missing
    for method, path, _ in admin_routes(console.app):
        if (method, path) in PUBLIC:
            continue
        response = c.request(method, path, data={"csrf": token} if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"] == "/admin/login"
        else:
            assert response.status_code == 401, (method, path, response.status_code)


@pytest.mark.parametrize("role", list(Role))
def test_roles_are_refused_what_their_grants_lack(console: Console, role: Role) -> None:
    c = console.signed_in(role)
    token = csrf(c, "/admin/requests")
    checked = 0
    for method, path, route in admin_routes(console.app):
        perm = perm_of(route)
        if (method, path) in PUBLIC or perm is None or path == "/admin/logout":
            continue
        data = {"csrf": token} if method == "POST" else None
        response = c.request(method, path, data=data)
        if perm in GRANTS[role]:
            assert response.status_code not in (401, 403), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
            checked += 1
    assert checked or role == Role.admin


@pytest.mark.parametrize("role", list(Role))
def test_every_post_needs_this_browsers_csrf_token(console: Console, role: Role) -> None:
    c = console.signed_in(role)
    other = console.signed_in(Role.auditor)
    foreign = csrf(other, "/admin/requests")  # a token of another browser
    for method, path, route in admin_routes(console.app):
        perm = perm_of(route)
        if method != "POST" or perm is None or perm not in GRANTS[role]:
            continue
        for data in ({}, {"csrf": "forged"}, {"csrf": foreign}):
            response = c.post(path, data=data)
            assert response.status_code == 403, (role, path, data, response.status_code)
            assert "form expired" in response.text
    assert c.post("/admin/login", data={"name": "admin", "password": "x" * 20}).status_code == 403


def test_pages_carry_the_security_headers(console: Console) -> None:
    c = console.signed_in(Role.admin)
    for path in ("/admin/login", "/admin/requests", "/admin/audit", "/admin/keys", "/admin/users"):
        headers = c.get(path).headers
        assert "script-src" not in headers["content-security-policy"]
        assert headers["content-security-policy"].startswith("default-src 'none'")
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        assert headers["strict-transport-security"].startswith("max-age=")


def test_plain_http_from_another_machine_cannot_sign_in(tmp_path: Path) -> None:
    console = make_console(tmp_path)
    from fastapi.testclient import TestClient

    c = TestClient(console.app, base_url="http://testserver", follow_redirects=False)
    page = c.get("/admin/login")
    assert page.status_code == 403
    assert "HTTPS" in page.text

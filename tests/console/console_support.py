"""Shared pieces of the console tests: an app with users of each role, signed-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from troth.config import Settings
from troth.console.roles import Role
from troth.console.users import Users
from troth.web import create_app
from troth.web.admin.context import SESSION_COOKIE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SECRET = "console-test-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
#: an https address: the console's cookies are Secure
BASE = "https://testserver"


@dataclass
class Console:
    app: FastAPI
    settings: Settings
    users: Users

    def client(self) -> TestClient:
        return TestClient(self.app, base_url=BASE, follow_redirects=False)

    def signed_in(self, role: Role | str) -> TestClient:
        c = self.client()
        response = login(c, str(role))
        assert response.status_code == 303, response.text
        return c


def make_console(tmp_path: Path, project: Path | None = None) -> Console:
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(settings, project or EXAMPLES / "mydigisoft")
    users: Users = app.state.admin.users
    for role in Role:
        users.add(role.value.replace("_", "-"), role, PASSWORD, actor="test")
    return Console(app, settings, users)


def csrf(c: TestClient, path: str = "/admin/login") -> str:
    page = c.get(path)
    found = CSRF.search(page.text)
    assert found, (page.status_code, page.text[:500])
    return found.group(1)


def login(c: TestClient, name: str, password: str = PASSWORD, code: str = "") -> object:
    data = {"csrf": csrf(c), "name": name.replace("_", "-"), "password": password, "code": code}
    return c.post("/admin/login", data=data)


def set_session(c: TestClient, token: str) -> None:
    """Present *token* as the console's session cookie (as a browser would)."""
    c.cookies.set(SESSION_COOKIE, token, domain="testserver.local", path="/admin")


def session_of(c: TestClient) -> str | None:
    found = [x.value for x in c.cookies.jar if x.name == SESSION_COOKIE]
    return found[-1] if found else None

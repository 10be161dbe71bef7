"""Shared steps of the centre tests: a client of the app, forms with their CSRF token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from troth.config import Settings
from troth.web import create_app

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def client(project: Path, *, base_url: str = "http://testserver") -> TestClient:
    app = create_app(Settings.from_env(), project)
    return TestClient(app, base_url=base_url, follow_redirects=False)


def csrf(c: TestClient | httpx.Client, path: str = "/privacy/request") -> str:
    page = c.get(path)
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def ask(c: TestClient, identity: str, kind: str = "access", **extra: Any) -> httpx.Response:
    data = {"csrf": csrf(c), "kind": kind, "identity": identity, **extra}
    data.setdefault("identity_type", "email")
    return c.post("/privacy/request", data=data)


def verify(c: TestClient, location: str, code: str) -> httpx.Response:
    return c.post(location, data={"csrf": csrf(c, location), "code": code})

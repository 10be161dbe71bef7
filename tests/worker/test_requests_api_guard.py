"""Every request-API route (enumerated from the app, so a new route without a guard fails here)
refuses a request without an API key (401) and one with a key lacking its scope (403)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from workerkit import EXAMPLES, KEY

from troth.config import Settings
from troth.store import open_store
from troth.web import create_app
from troth.web.apikeys import create_key

RID = "0" * 32


def _walk(routes: list[Any]) -> list[Any]:
    """Routes, with those of included routers (FastAPI keeps them apart)."""
    out: list[Any] = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out += _walk(list(inner.routes)) if inner is not None else [r]
    return out


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for r in _walk(list(app.routes)):
        if isinstance(r, APIRoute) and r.path.startswith("/api/v1/requests"):
            out.extend((m, re.sub(r"\{request_id\}", RID, r.path)) for m in sorted(r.methods))
    return out


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, str, FastAPI]:
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    key = create_key(open_store(settings), settings.secret_key, ["consent:read", "consent:write"])
    app = create_app(settings, EXAMPLES / "mydigisoft")
    return TestClient(app), key, app


def test_every_request_route_needs_a_key_with_its_scope(
    client: tuple[TestClient, str, FastAPI],
) -> None:
    app, key, fastapi_app = client
    routes = _routes(fastapi_app)
    assert len(routes) >= 10
    for method, path in routes:
        bare = app.request(method, path, json={})
        assert bare.status_code == 401, (method, path, bare.text)
        wrong = app.request(method, path, json={}, headers={"Authorization": f"Bearer {key}"})
        assert wrong.status_code == 403, (method, path, wrong.text)

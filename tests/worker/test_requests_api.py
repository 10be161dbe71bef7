"""The request API end to end on a real `troth serve` (embedded jobs): file, list, approve, deny,
extend, pause, download the export; every action audited with the API key; errors, never a 500."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from workerkit import EXAMPLES, KEY

from servers import start_serve
from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.store import open_store
from troth.web.apikeys import create_key

RULES = "\nrequests:\n  approval:\n    access: automatic\n    erasure: reviewer\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("api")
    project = tmp / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "mydigisoft" / "datamap.yaml", project / "datamap.yaml")
    (project / "policy.yaml").write_text(
        (EXAMPLES / "mydigisoft" / "policy.yaml").read_text() + RULES
    )
    shop = f"sqlite:///{tmp / 'shop.db'}"
    create_demo_db(shop, "mydigisoft", customers=20)
    state = f"sqlite:///{tmp / 'state.db'}"
    env = {
        **os.environ,
        "TROTH_HOME": str(tmp / "home"),
        "TROTH_SECRET_KEY": KEY,
        "TROTH_CONN_MYDIGISOFT_SHOP": shop,
    }
    env.pop("TROTH_QUEUE_URL", None)
    settings = Settings.from_env(env).with_database(state)
    engine = open_store(settings)
    keys = {
        "write": create_key(engine, settings.secret_key, ["requests:read", "requests:write"]),
        "export": create_key(engine, settings.secret_key, ["requests:read", "requests:export"]),
        "consent": create_key(engine, settings.secret_key, ["consent:read"]),
    }
    proc, base = start_serve(project, state, env)
    try:
        yield {"base": base, "keys": keys, "engine": engine, "home": tmp / "home"}
    finally:
        proc.terminate()
        proc.wait(30)
        engine.dispose()


def _h(server: dict[str, Any], key: str = "write") -> dict[str, str]:
    return {"Authorization": f"Bearer {server['keys'][key]}"}


def _post(
    server: dict[str, Any], path: str, body: Any = None, key: str = "write"
) -> httpx.Response:
    return httpx.post(f"{server['base']}/api/v1/requests{path}", json=body, headers=_h(server, key))


def _get(
    server: dict[str, Any], path: str = "", key: str = "write", **params: Any
) -> httpx.Response:
    return httpx.get(
        f"{server['base']}/api/v1/requests{path}", params=params, headers=_h(server, key)
    )


def _file(server: dict[str, Any], kind: str, n: int, verified: bool = True) -> httpx.Response:
    body = {"type": kind, "identities": {"email": f"customer{n}@example.com"}, "verified": verified}
    return _post(server, "", body)


def _wait(server: dict[str, Any], rid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = _get(server, f"/{rid}").json()
        if got["status"] == status:
            return dict(got)
        time.sleep(0.2)
    pytest.fail(f"request {rid} did not reach {status}: {got['status']}")


def _ledger(server: dict[str, Any], rid: str) -> list[tuple[str, str]]:
    with server["engine"].connect() as c:
        rows = c.execute(
            sa.text("SELECT kind, actor FROM audit_entry WHERE subject = :s ORDER BY seq"),
            {"s": f"dsr:{rid}"},
        ).all()
    return [(k, a) for k, a in rows]


def test_access_runs_at_once_and_its_export_downloads(server: dict[str, Any]) -> None:
    r = _file(server, "access", 1)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["status"] == "approved"
    assert "customer1" not in r.text  # no identity value comes back
    done = _wait(server, rid, "completed")
    assert done["days_left"] is None
    assert _get(server, f"/{rid}/export").status_code == 403  # needs requests:export
    got = _get(server, f"/{rid}/export", key="export")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(got.content)).namelist()
    key_id = server["keys"]["write"].split("_")[1]
    export_id = server["keys"]["export"].split("_")[1]
    ledger = _ledger(server, rid)
    assert ("dsr.received", f"apikey:{key_id}") in ledger
    assert ("dsr.completed", "worker") in ledger
    assert ("dsr.export_downloaded", f"apikey:{export_id}") in ledger


def test_erasure_waits_for_a_reviewer_then_runs(server: dict[str, Any]) -> None:
    r = _file(server, "erasure", 2)
    rid = r.json()["id"]
    assert r.json()["status"] == "identity_verified"
    assert _file(server, "erasure", 2).status_code == 200  # the open twin, not a second one
    time.sleep(1)
    assert _get(server, f"/{rid}").json()["status"] == "identity_verified"
    assert _post(server, f"/{rid}/approve").json()["status"] == "approved"
    _wait(server, rid, "completed")
    assert _post(server, f"/{rid}/approve").status_code == 409
    assert _get(server, f"/{rid}/export", key="export").status_code == 409


def test_deny_extend_pause_and_their_audit(server: dict[str, Any]) -> None:
    rid = _file(server, "erasure", 3, verified=False).json()["id"]
    assert _get(server, f"/{rid}").json()["status"] == "received"
    paused = _post(server, f"/{rid}/pause", {"reason": "waiting for a copy of the ID"})
    assert paused.json()["status"] == "paused"
    assert _post(server, f"/{rid}/resume").json()["status"] == "received"
    before = _get(server, f"/{rid}").json()["due_at"]
    ext = _post(server, f"/{rid}/extend", {"reason": "many systems to search"})
    assert ext.status_code == 200
    assert ext.json()["due_at"] > before
    assert _post(server, f"/{rid}/extend", {"reason": "again"}).status_code == 409
    denied = _post(server, f"/{rid}/deny", {"reason": "identity could not be confirmed"})
    assert denied.json()["status"] == "denied"
    assert denied.json()["reason"] == "identity could not be confirmed"
    kinds = [k for k, _ in _ledger(server, rid)]
    assert kinds == [
        "dsr.received",
        "dsr.paused",
        "dsr.received",
        "dsr.extended",
        "dsr.denied",
    ]


def test_list_filters_and_sorts_by_due_date(server: dict[str, Any]) -> None:
    for n in (4, 5):
        _file(server, "erasure", n)
    got = _get(server, status="identity_verified", type="erasure").json()["requests"]
    assert len(got) >= 2
    assert {r["status"] for r in got} == {"identity_verified"}
    dues = [r["due_at"] for r in got]
    assert dues == sorted(dues)
    assert all(isinstance(r["days_left"], int) for r in got)
    assert _get(server, overdue="true").json()["requests"] == []
    assert len(_get(server, overdue="false", limit=1).json()["requests"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "key", "code"),
    [
        ("get", "", None, None, 401),
        ("get", "", None, "consent", 403),
        (
            "post",
            "",
            {"type": "access", "identities": {"email": "a@example.com"}, "verified": True},
            "consent",
            403,
        ),
        ("get", "/" + "0" * 32, None, "write", 404),
        ("get", "/not-an-id", None, "write", 422),
        (
            "post",
            "",
            {"type": "rectification", "identities": {"email": "a@example.com"}, "verified": True},
            "write",
            422,
        ),
        (
            "post",
            "",
            {"type": "access", "identities": {"passport": "X1"}, "verified": True},
            "write",
            400,
        ),
        (
            "post",
            "",
            {"type": "access", "identities": {"email": "zq-bogus-value"}, "verified": True},
            "write",
            400,
        ),
        ("post", "", {"type": "access", "identities": {}, "verified": True}, "write", 422),
        ("post", "/" + "0" * 32 + "/deny", {"reason": ""}, "write", 422),
        ("post", "/" + "0" * 32 + "/deny", {"reason": "x"}, "write", 404),
        ("get", "", {"limit": 0}, "write", 422),
    ],
)
def test_errors_are_clear_and_never_500(
    server: dict[str, Any], method: str, path: str, body: Any, key: str | None, code: int
) -> None:
    headers = _h(server, key) if key else {}
    url = f"{server['base']}/api/v1/requests{path}"
    if method == "get":
        r = httpx.get(url, params=body, headers=headers)
    else:
        r = httpx.post(url, json=body, headers=headers)
    assert r.status_code == code, r.text
    payload = r.json()
    assert payload["error"]
    assert payload["message"]
    text = json.dumps(payload)  # the input is never echoed back
    assert "a@example.com" not in text
    assert "zq-bogus-value" not in text


def test_openapi_documents_the_request_routes(server: dict[str, Any]) -> None:
    paths = httpx.get(f"{server['base']}/openapi.json").json()["paths"]
    for p in (
        "/api/v1/requests",
        "/api/v1/requests/{request_id}/approve",
        "/api/v1/requests/{request_id}/export",
    ):
        assert p in paths

"""Whatever a browser sends to the console's forms and filters, the answer is a page or a
redirect, never a 500: generated sign-in fields, queue filters, ledger pages, deny reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import Console, csrf, make_console
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.console.roles import Role

TEXT = st.text(max_size=120)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> tuple[Console, TestClient]:
    mp = pytest.MonkeyPatch()
    mp.setenv("TROTH_SECRET_KEY", "console-test-secret-0123456789abcdef")
    path: Path = tmp_path_factory.mktemp("fuzz")
    mp.setenv("TROTH_HOME", str(path / "home"))
    mp.delenv("TROTH_DATABASE_URL", raising=False)
    console = make_console(path)
    yield console, console.signed_in(Role.reviewer)  # type: ignore[misc]
    mp.undo()


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(name=TEXT, password=TEXT, code=TEXT)
def test_sign_in_fields(
    fuzz: tuple[Console, TestClient], name: str, password: str, code: str
) -> None:
    console, _ = fuzz
    c = console.client()
    data = {"csrf": csrf(c), "name": name, "password": password, "code": code}
    response = c.post("/admin/login", data=data)
    assert response.status_code in (303, 401), response.text[:300]


@SETTINGS
@given(status=TEXT, kind=TEXT, due=TEXT, overdue=TEXT, page=TEXT, before=TEXT)
def test_queue_filters_and_ledger_pages(
    fuzz: tuple[Console, TestClient],
    status: str,
    kind: str,
    due: str,
    overdue: str,
    page: str,
    before: str,
) -> None:
    _, c = fuzz
    params = {"status": status, "type": kind, "due_before": due, "overdue": overdue, "page": page}
    assert c.get("/admin/requests", params=params).status_code == 200
    assert c.get("/admin/audit", params={"before": before}).status_code == 200


@SETTINGS
@given(request_id=st.text(alphabet="0123456789abcdefxyz/.%", min_size=1, max_size=40))
def test_request_ids(fuzz: tuple[Console, TestClient], request_id: str) -> None:
    _, c = fuzz
    response = c.get(f"/admin/requests/{request_id}")
    assert response.status_code in (200, 303, 307, 404)
    posted = c.post(f"/admin/requests/{request_id}/deny", data={"csrf": "x", "note": "n"})
    assert posted.status_code in (403, 404, 405)

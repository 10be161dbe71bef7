"""POST /api/v1/disclosures: scoped key, only allowed fields, refusals as 403, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.config import Settings
from troth.store import connect, open_store
from troth.web import create_app
from troth.web.apikeys import create_key

from .conftest import ADDRESS, CONTACT, MD, PLUS

URL = "/api/v1/disclosures"


@pytest.fixture
def settings_(troth_env: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def client(settings_: Settings) -> TestClient:
    return TestClient(create_app(settings_, PLUS), raise_server_exceptions=False)


def _key(settings_: Settings, scope: str) -> dict[str, str]:
    key = create_key(open_store(settings_), settings_.secret_key, [scope])
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def sharer(settings_: Settings) -> dict[str, str]:
    return _key(settings_, "disclosure:write")


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "recipient": "courier_service",
        "purpose": "courier_delivery",
        "table": "plus.crm_contacts",
        "records": [CONTACT],
        **extra,
    }


def test_pl_8_courier_gets_the_address_over_http(
    client: TestClient, sharer: dict[str, str], settings_: Settings
) -> None:
    r = client.post(URL, json=_body(), headers=sharer)
    assert r.status_code == 201, r.text
    [d] = r.json()["disclosures"]
    assert d["fields"] == {k: CONTACT[k] for k in ADDRESS}
    for withheld in ("email", "first_name", "last_name", "phone"):
        assert str(CONTACT[withheld]) not in r.text
    with connect(open_store(settings_)) as conn:
        actor = conn.exec_driver_sql("SELECT actor FROM disclosure_batch").scalar_one()
    assert actor.startswith("api-key:")


def test_refusals_are_403_and_keys_are_scoped(
    client: TestClient, sharer: dict[str, str], settings_: Settings
) -> None:
    r = client.post(URL, json=_body(recipient="nobody"), headers=sharer)
    assert r.status_code == 403
    assert r.json()["error"] == "DisclosureRefusedError"
    r = client.post(URL, json=_body(purpose="provide_services"), headers=sharer)
    assert r.status_code == 403
    assert "courier_delivery" in r.json()["message"]
    body = _body(recipient="legal_authorities", purpose="legal_disclosure", table=None)
    assert client.post(URL, json=body, headers=sharer).status_code == 403
    legal = {"recipient": "legal_authorities", "purpose": "legal_disclosure",
             "authority": "State police", "basis": "Court order 2026/17"}  # fmt: skip
    undeclared = {**legal, "recipient": "courier_service"}  # not for this purpose
    assert client.post("/api/v1/legal-requests", json=undeclared, headers=sharer).status_code == 403
    r = client.post("/api/v1/legal-requests", json=legal, headers=sharer)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    body["legal_request_id"] = rid
    assert client.post(URL, json=body, headers=sharer).status_code == 403  # not approved yet
    approve = f"/api/v1/legal-requests/{rid}/approve"
    assert client.post(approve, headers=sharer).status_code == 403  # needs admin
    admin = _key(settings_, "admin")
    r = client.post(approve, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert client.post(URL, json=body, headers=sharer).status_code == 201
    assert client.post(approve, headers=admin).status_code == 403  # already approved
    assert (
        client.post("/api/v1/legal-requests/" + "0" * 32 + "/approve", headers=admin).status_code
        == 422
    )
    assert client.post(URL, json=_body()).status_code == 401
    reader = _key(settings_, "consent:read")
    assert client.post(URL, json=_body(), headers=reader).status_code == 403


def test_md_7_every_disclosure_refused_over_http(settings_: Settings) -> None:
    client = TestClient(create_app(settings_, MD), raise_server_exceptions=False)
    body = {"recipient": "google", "purpose": "marketing_email", "records": [CONTACT]}
    r = client.post(URL, json=body, headers=_key(settings_, "disclosure:write"))
    assert r.status_code == 403
    assert "declares no recipient" in r.json()["message"]


def test_bad_bodies_are_422_without_echo(client: TestClient, sharer: dict[str, str]) -> None:
    r = client.post(URL, json=_body(records=[{"email": ["ada@example.com"]}]), headers=sharer)
    assert r.status_code == 422
    assert "ada@example.com" not in r.text
    r = client.post(URL, json=_body(subjects=[]), headers=sharer)
    assert r.status_code == 422
    r = client.post(URL, json=_body(records=[{"street": "1 Main St"}]), headers=sharer)
    assert r.status_code == 400
    assert "names no identity" in r.json()["message"]


_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    recipient=st.text(max_size=90),
    record=st.dictionaries(st.text(max_size=20), _scalar, max_size=6),
    table=st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_body_gets_an_answer_never_a_500(
    client: TestClient, sharer: dict[str, str], recipient: str, record: dict[str, Any], table: Any
) -> None:
    body = _body(recipient=recipient, records=[record], table=table)
    assert client.post(URL, json=body, headers=sharer).status_code < 500
    body = _body(records=[{**record, "email": "x@example.com"}], table=table)
    assert client.post(URL, json=body, headers=sharer).status_code < 500

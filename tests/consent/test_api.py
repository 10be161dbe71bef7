"""troth serve's consent API: API keys and scopes, record/withdraw/state/history/receipt, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.cli import main
from troth.config import Settings
from troth.consent import verify_receipt
from troth.consent.receipts import receipt_key
from troth.store import open_store
from troth.web import create_app
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parents[2]
MD = ROOT / "examples" / "mydigisoft"
ADA = "ada.lovelace@example.test"


@pytest.fixture
def settings_(troth_env: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def client(settings_: Settings) -> TestClient:
    return TestClient(create_app(settings_, MD), raise_server_exceptions=False)


@pytest.fixture
def writer(settings_: Settings) -> dict[str, str]:
    key = create_key(open_store(settings_), settings_.secret_key, ["consent:write"])
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def reader(settings_: Settings) -> dict[str, str]:
    key = create_key(open_store(settings_), settings_.secret_key, ["consent:read"])
    return {"X-API-Key": key}


def test_md_3_record_withdraw_state_history_receipt(
    client: TestClient, writer: dict[str, str], reader: dict[str, str], settings_: Settings
) -> None:
    body = {"subject": ADA, "consent_id": "marketing_email", "kind": "given"}
    r = client.post("/api/v1/consent/events", json=body, headers=writer)
    assert r.status_code == 201, r.text
    assert r.json()["events"][0]["channel"] == "notification_desk"
    assert ADA not in r.text
    d = client.post(
        "/api/v1/decisions", json={"subject": ADA, "purpose": "marketing_email"}, headers=reader
    )
    assert d.json()["allowed"] is True
    w = client.post(
        "/api/v1/consent/withdraw",
        json={"subject": ADA, "consent_id": "marketing_email"},
        headers=writer,
    )
    assert w.status_code == 201
    s = client.post("/api/v1/consent/state", json={"subject": ADA}, headers=reader).json()
    assert s["consents"][0]["state"] == "withdrawn"
    d = client.post(
        "/api/v1/decisions", json={"subject": ADA, "purpose": "marketing_email"}, headers=reader
    ).json()
    assert d["allowed"] is False
    assert "withdrawn" in d["reason"]
    h = client.post("/api/v1/consent/history", json={"subject": ADA}, headers=reader).json()
    assert [e["kind"] for e in h["events"]] == ["given", "withdrawn"]
    rc = client.post(
        "/api/v1/consent/receipt", json={"subject": ADA, "signed": True}, headers=reader
    ).json()
    assert verify_receipt(rc["jws"], receipt_key(settings_.secret_key)) == rc["receipt"]


def test_batch_record_and_sec_gpc_recorded(
    client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    batch = [
        {"subject": f"u{i}@example.test", "consent_id": "marketing_email", "kind": "given"}
        for i in range(50)
    ]
    r = client.post("/api/v1/consent/events", json=batch, headers={**writer, "Sec-GPC": "1"})
    assert r.status_code == 201
    assert all(e["gpc"] for e in r.json()["events"])


def test_api_keys_and_scopes(client: TestClient, reader: dict[str, str]) -> None:
    body = {"subject": ADA, "consent_id": "marketing_email", "kind": "given"}
    assert client.post("/api/v1/consent/events", json=body).status_code == 401
    bad = {"Authorization": "Bearer troth_abc_def"}
    assert client.post("/api/v1/consent/events", json=body, headers=bad).status_code == 401
    r = client.post("/api/v1/consent/events", json=body, headers=reader)
    assert r.status_code == 403
    assert "consent:write" in r.json()["message"]


def test_errors_are_4xx_naming_the_problem(
    client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/consent/events",
        json={"subject": ADA, "consent_id": "marketing_mail", "kind": "given"},
        headers=writer,
    )
    assert r.status_code == 422
    assert "marketing_email" in r.json()["message"]
    r = client.post("/api/v1/consent/state", json={"subject": "ghost@example.test"}, headers=reader)
    assert r.status_code == 404
    assert "marketing_email" in r.json()["message"]
    assert "ghost@" not in r.text
    bad_json = client.post(
        "/api/v1/consent/events",
        content=b'{"subject": ',
        headers={**writer, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 422
    huge = client.post(
        "/api/v1/consent/events",
        content=b"[" + b" " * 200_000 + b"]",
        headers={**writer, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    d = client.post("/api/v1/decisions", json={"subject": ADA, "purpose": "nope"}, headers=reader)
    assert d.status_code == 422


def test_openapi_lists_the_consent_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/v1/consent/events", "/api/v1/consent/withdraw", "/api/v1/consent/receipt"):
        assert p in paths


def test_apikey_cli(troth_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apikey", "create", "--scope", "consent:write", "--label", "crm"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("troth_")
    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "consent:write" in listing
    assert key not in listing
    assert main(["apikey", "create", "--scope", "consent:wrte"]) == 2
    assert "consent:write" in capsys.readouterr().err


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/api/v1/consent/events",
            "/api/v1/consent/withdraw",
            "/api/v1/consent/state",
            "/api/v1/decisions",
        ]
    ),
    payload=JSONISH
    | st.fixed_dictionaries(
        {"subject": st.text(max_size=30), "consent_id": st.text(max_size=20)},
        optional={"kind": st.text(max_size=10), "event_time": st.text(max_size=30)},
    ),
    raw=st.binary(max_size=40),
    use_raw=st.booleans(),
)
def test_fuzz_never_500(
    path: str,
    payload: object,
    raw: bytes,
    use_raw: bool,
    fuzz_env: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = fuzz_env
    content = raw if use_raw else json.dumps(payload).encode()
    r = client.post(path, content=content, headers={**headers, "Content-Type": "application/json"})
    assert r.status_code < 500, (path, r.status_code, r.text)


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, dict[str, str]]:
    home = tmp_path_factory.mktemp("fuzz")
    s = Settings.from_env({"TROTH_HOME": str(home), "TROTH_SECRET_KEY": "fuzz-secret-0123456789"})
    key = create_key(open_store(s), s.secret_key, ["admin"])
    return TestClient(create_app(s, MD), raise_server_exceptions=False), {
        "Authorization": f"Bearer {key}"
    }

"""Issue 9, web side, on SQLite and PostgreSQL state DBs: subjects are always hashed by troth (3),
event times are bounded and a withdrawal wins over a future-dated grant (4), unexpected errors are
500s without detail and NULs are 422 (6), browser posts, CORS, Secure cookies and 413 (7)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from troth.config import Settings
from troth.consent import ConsentLedger, EventKind, NewEvent
from troth.consent.subjects import SubjectRef, issue_token
from troth.errors import ConsentError
from troth.store import open_store
from troth.web import create_app
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parents[2]
MD = ROOT / "examples" / "mydigisoft"
SHOP = ROOT / "tests" / "fixtures" / "cookieshop"
KEY = b"web-security-secret-0123456789ab"
ADA = "ada.lovelace@example.test"
EVENTS = "/api/v1/consent/events"
REF_SHAPED = "h:" + "ab" * 32


@pytest.fixture
def settings_(state_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=state_url, secret_key=KEY)


@pytest.fixture
def api(settings_: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    key = create_key(open_store(settings_), settings_.secret_key, ["admin"])
    app = create_app(settings_, MD)
    yield TestClient(app, raise_server_exceptions=False), {"Authorization": f"Bearer {key}"}
    app.state.services.engine.dispose()


def _event(**over: object) -> dict[str, object]:
    return {"subject": ADA, "consent_id": "marketing_email", "kind": "given", **over}


def _dump(settings_: Settings) -> str:
    engine = sa.create_engine(settings_.database_url)
    with engine.connect() as conn:
        rows = [*conn.exec_driver_sql("SELECT * FROM consent_event")]
        rows += [*conn.exec_driver_sql("SELECT * FROM audit_entry")]
    engine.dispose()
    return " ".join(str(r) for r in rows)


# --- 3. subjects are hashed by troth, always ------------------------------------------------------


def test_3_a_string_that_looks_hashed_is_refused_never_stored(
    api: tuple[TestClient, dict[str, str]], settings_: Settings
) -> None:
    client, auth = api
    for path, body in [
        (EVENTS, _event(subject=REF_SHAPED)),
        (EVENTS, [_event(), _event(subject=REF_SHAPED.upper())]),
        ("/api/v1/consent/withdraw", {"subject": REF_SHAPED, "consent_id": "marketing_email"}),
        ("/api/v1/decisions", {"subject": REF_SHAPED, "purpose": "marketing_email"}),
        ("/api/v1/consent/state", {"subject": REF_SHAPED}),
    ]:
        r = client.post(path, json=body, headers=auth)
        assert r.status_code == 422, (path, r.text)
        assert "subject_token" in r.json()["message"]
    assert REF_SHAPED not in _dump(settings_)
    assert "ab" * 32 not in _dump(settings_).lower()


def test_3_text_after_h_colon_is_hashed_like_any_identifier(
    api: tuple[TestClient, dict[str, str]], settings_: Settings
) -> None:
    client, auth = api
    raw = "h:Grace Hopper, 1906-12-09, Arlington VA, grace@example.test" + "x" * 6
    assert len(raw) == 66
    r = client.post(EVENTS, json=_event(subject=raw), headers=auth)
    assert r.status_code == 201, r.text
    stored = r.json()["events"][0]["subject"]
    assert stored != raw
    assert stored.startswith("h:")
    assert "Grace" not in _dump(settings_)


def test_3_subject_token_issued_by_troth_is_accepted_and_a_forged_one_is_not(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, auth = api
    r = client.post(EVENTS, json=_event(), headers=auth)
    token = r.json()["events"][0]["subject_token"]
    ref = r.json()["events"][0]["subject"]
    assert ADA not in token
    state = client.post("/api/v1/consent/state", json={"subject_token": token}, headers=auth)
    assert state.status_code == 200, state.text
    assert state.json()["subject"] == ref
    assert state.json()["subject_token"] == token
    w = client.post(
        "/api/v1/consent/withdraw",
        json={"subject_token": token, "consent_id": "marketing_email"},
        headers=auth,
    )
    assert w.status_code == 201
    d = client.post(
        "/api/v1/decisions",
        json={"subject_token": token, "purpose": "marketing_email"},
        headers=auth,
    )
    assert d.json()["allowed"] is False
    history = client.post("/api/v1/consent/history", json={"subject": ADA}, headers=auth).json()
    assert [e["kind"] for e in history["events"]] == ["given", "withdrawn"]
    # a token for another ref, made without troth's key, or altered, is refused
    forged = issue_token(b"another-key-0123456789abcdef0123", "h:" + "cd" * 32)
    head, _hexpart, tag = token.split(".")
    altered = f"{head}.{'cd' * 32}.{tag}"
    for bad in (forged, altered, "tsub1." + "cd" * 32, REF_SHAPED, ""):
        r = client.post("/api/v1/consent/state", json={"subject_token": bad}, headers=auth)
        assert r.status_code == 422, (bad, r.text)
    both = client.post(
        "/api/v1/consent/state", json={"subject": ADA, "subject_token": token}, headers=auth
    )
    assert both.status_code == 422
    neither = client.post("/api/v1/consent/state", json={}, headers=auth)
    assert neither.status_code == 422


def test_3_library_refuses_ref_shaped_subjects_and_takes_typed_refs(
    state_url: str, tmp_path: Path
) -> None:
    from troth.project import load_project

    ledger = ConsentLedger(open_store(state_url), load_project(MD).policy.policy, key=KEY)
    with pytest.raises(ConsentError, match="looks like a troth subject ref"):
        ledger.record(NewEvent(REF_SHAPED, "marketing_email", "given"))
    with pytest.raises(ConsentError, match="looks like a troth subject ref"):
        ledger.state(REF_SHAPED)
    stored = ledger.record(NewEvent(ADA, "marketing_email", "given"))
    same = ledger.state(SubjectRef(stored.subject))
    assert same["marketing_email"].given
    with pytest.raises(ConsentError):
        SubjectRef("Grace Hopper")
    with pytest.raises(ConsentError):
        issue_token(KEY, "h:Grace Hopper")
    ledger.engine.dispose()


def test_3_subjects_an_older_troth_stored_verbatim_still_expire(state_url: str) -> None:
    """Rows stored before the fix with a client's "hash" are not lost to expiry."""
    from troth.policy.duration import parse_duration
    from troth.project import load_project

    ledger = ConsentLedger(open_store(state_url), load_project(MD).policy.policy, key=KEY)
    consent = ledger.consents["marketing_email"]
    ledger.consents["marketing_email"] = consent.model_copy(
        update={"expires_after": parse_duration("1 year")}
    )
    old = (datetime.now(UTC) - timedelta(days=800)).isoformat()
    ledger.record(NewEvent(ADA, "marketing_email", "given", event_time=old))
    verbatim = "h:legacy subject stored verbatim"
    with ledger.engine.begin() as conn:
        conn.execute(sa.text("UPDATE consent_event SET subject = :s"), {"s": verbatim})
    assert ledger.expire_due() == 1
    assert ledger.state(SubjectRef(verbatim))["marketing_email"].kind is EventKind.expired
    ledger.engine.dispose()


def test_3_visitor_ids_are_pseudonyms_troth_signed(settings_: Settings) -> None:
    app = create_app(settings_, SHOP)
    client = TestClient(app, raise_server_exceptions=False)
    body = {"policy_version": "3.0", "choices": {"analytics": True}}
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    first = client.post("/consent/browser", json=body, headers=same_origin)
    assert first.status_code == 200, first.text
    vid = first.cookies["troth_vid"]
    client.cookies.set("troth_vid", vid)
    again = client.post("/consent/browser", json=body, headers=same_origin)
    assert again.json()["subject"] == first.json()["subject"]
    # a visitor id troth did not issue (chosen by the client) is replaced by a fresh one
    chosen = "chosen-by-the-client-0123"
    client.cookies.clear()
    client.cookies.set("troth_vid", chosen)
    forged = client.post("/consent/browser", json=body, headers=same_origin)
    assert forged.status_code == 200
    assert forged.cookies["troth_vid"] != chosen
    ledger = app.state.services.ledger
    assert ledger.state_or_empty(f"visitor:{chosen}") == {}
    app.state.services.engine.dispose()


# --- 4. time --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:30:00-01:00",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:30:00+01:00",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
    ],
)
def test_4_out_of_range_event_times_are_422(
    api: tuple[TestClient, dict[str, str]], when: str
) -> None:
    client, auth = api
    r = client.post(EVENTS, json=_event(event_time=when), headers=auth)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "ConsentError"


def test_4_future_events_refused_and_withdrawal_wins_over_a_skewed_grant(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, auth = api
    now = datetime.now(UTC)
    far = (now + timedelta(hours=1)).isoformat()
    r = client.post(EVENTS, json=_event(event_time=far), headers=auth)
    assert r.status_code == 422
    assert "future" in r.json()["message"]
    skewed = (now + timedelta(minutes=2)).isoformat()  # within the allowed clock skew
    assert client.post(EVENTS, json=_event(event_time=skewed), headers=auth).status_code == 201
    w = client.post(
        "/api/v1/consent/withdraw",
        json={"subject": ADA, "consent_id": "marketing_email"},
        headers=auth,
    )
    assert w.status_code == 201
    d = client.post(
        "/api/v1/decisions", json={"subject": ADA, "purpose": "marketing_email"}, headers=auth
    ).json()
    assert d["allowed"] is False
    state = client.post("/api/v1/consent/state", json={"subject": ADA}, headers=auth).json()
    assert state["consents"][0]["state"] == "withdrawn"


def test_4_window_is_configurable(settings_: Settings) -> None:
    narrow = replace(
        settings_, consent_max_future=timedelta(seconds=0), consent_max_past=timedelta(days=30)
    )
    key = create_key(open_store(narrow), KEY, ["admin"])
    app = create_app(narrow, MD)
    client = TestClient(app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {key}"}
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    assert client.post(EVENTS, json=_event(event_time=old), headers=auth).status_code == 422
    soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    assert client.post(EVENTS, json=_event(event_time=soon), headers=auth).status_code == 422
    recent = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    assert client.post(EVENTS, json=_event(event_time=recent), headers=auth).status_code == 201
    app.state.services.engine.dispose()


def test_4_window_settings_from_the_environment(tmp_path: Path) -> None:
    env = {
        "TROTH_HOME": str(tmp_path),
        "TROTH_SECRET_KEY": KEY.decode(),
        "TROTH_CONSENT_MAX_FUTURE_SECONDS": "30",
        "TROTH_CONSENT_MAX_PAST_DAYS": "400",
    }
    s = Settings.from_env(env)
    assert s.consent_max_future == timedelta(seconds=30)
    assert s.consent_max_past == timedelta(days=400)
    from troth.errors import ConfigError

    with pytest.raises(ConfigError, match="TROTH_CONSENT_MAX_PAST_DAYS"):
        Settings.from_env({**env, "TROTH_CONSENT_MAX_PAST_DAYS": "ten"})


def test_4_withdrawal_wins_over_a_stored_far_future_grant(state_url: str) -> None:
    """A grant dated 9999 stored before the window existed cannot outlive a later withdrawal."""
    from troth.project import load_project

    ledger = ConsentLedger(open_store(state_url), load_project(MD).policy.policy, key=KEY)
    ledger.record(NewEvent(ADA, "marketing_email", "given"))
    with ledger.engine.begin() as conn:  # as an older troth stored it
        conn.execute(
            sa.text("UPDATE consent_event SET event_time = :t"),
            {"t": "9999-12-31T00:00:00.000000+00:00"},
        )
    assert ledger.state(ADA)["marketing_email"].given
    ledger.record(NewEvent(ADA, "marketing_email", "withdrawn"))
    assert ledger.state(ADA)["marketing_email"].kind is EventKind.withdrawn
    ledger.engine.dispose()


# --- 6. no detail in 500s; NULs are 422 ----------------------------------------------------------


@pytest.mark.parametrize("field", ["channel", "collection_point", "jurisdiction", "notice_version"])
def test_6_nul_bytes_are_422_and_nothing_is_stored(
    api: tuple[TestClient, dict[str, str]], settings_: Settings, field: str
) -> None:
    client, auth = api
    extra: dict[str, object] = {field: "desk\x00x"}
    if field == "notice_version":
        extra["notice_hash"] = "0" * 64
    r = client.post(EVENTS, json=_event(**extra), headers=auth)
    assert r.status_code == 422, r.text
    assert field in r.json()["message"]
    assert "sqlite" not in r.text
    assert "postgres" not in r.text
    assert (
        client.post("/api/v1/consent/state", json={"subject": ADA}, headers=auth).status_code == 404
    )


def test_6_control_characters_in_subjects_are_422(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    for subject in ("ada\x00@example.test", "ada\n@example.test", " \t "):
        r = client.post(EVENTS, json=_event(subject=subject), headers=auth)
        assert r.status_code == 422, (subject, r.text)


def test_6_store_errors_are_500_without_detail(
    api: tuple[TestClient, dict[str, str]], settings_: Settings
) -> None:
    client, auth = api
    engine = sa.create_engine(settings_.database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE consent_event")
    engine.dispose()
    r = client.post(EVENTS, json=_event(), headers=auth)
    assert r.status_code == 500
    assert r.json() == {"error": "InternalError", "message": "internal error"}


# --- 7. browser posts, CORS, Secure cookie, 413 --------------------------------------------------

BROWSER_BODY = {"policy_version": "3.0", "choices": {"analytics": True}}


@pytest.fixture
def shop(settings_: Settings) -> Iterator[TestClient]:
    app = create_app(
        settings_,
        SHOP,
        allowed_origins=("https://shop.example",),
        trusted_proxies=("testclient",),
    )
    yield TestClient(app, raise_server_exceptions=False)
    app.state.services.engine.dispose()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "same-origin"}, 200),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}, 200),
        ({"Origin": "https://shop.example"}, 200),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://shop.example"}, 200),
        ({"Sec-Fetch-Site": "none"}, 403),
        ({}, 403),
        ({"Origin": "http://testserver"}, 403),  # never derived from Host
        ({"Origin": "http://rebound.example", "Host": "rebound.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
        ({"Sec-Fetch-Site": "same-site", "Origin": "https://evil.shop.example"}, 403),
        ({"Origin": "null"}, 403),
    ],
)
def test_7_browser_posts_need_same_origin_metadata_or_an_allowed_origin(
    shop: TestClient, headers: dict[str, str], status: int
) -> None:
    r = shop.post("/consent/browser", json=BROWSER_BODY, headers=headers)
    assert r.status_code == status, r.text
    if status == 403:  # refused before the body is looked at
        assert shop.post("/consent/browser", json={}, headers=headers).status_code == 403


def test_7_cors_for_the_allow_list(shop: TestClient) -> None:
    pre = shop.options(
        "/consent/browser",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code == 200, pre.text
    assert pre.headers["access-control-allow-origin"] == "https://shop.example"
    assert pre.headers["access-control-allow-credentials"] == "true"
    post = shop.post(
        "/consent/browser", json=BROWSER_BODY, headers={"Origin": "https://shop.example"}
    )
    assert post.headers["access-control-allow-origin"] == "https://shop.example"
    cfg = shop.get("/consent/banner-config", headers={"Origin": "https://shop.example"})
    assert cfg.headers["access-control-allow-origin"] == "https://shop.example"
    evil = shop.options(
        "/consent/browser",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in evil.headers
    # the server-to-server API is not opened to browsers
    api = shop.options(
        EVENTS,
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in api.headers


def test_7_allow_origin_must_be_an_origin(settings_: Settings) -> None:
    from troth.errors import ConfigError

    for bad in ("*", "shop.example", "https://shop.example/path", "ftp://shop.example"):
        with pytest.raises(ConfigError, match="allow-origin"):
            create_app(settings_, SHOP, allowed_origins=(bad,))


def test_7_visitor_cookie_is_secure_over_tls_or_behind_a_trusted_proxy(
    shop: TestClient, settings_: Settings
) -> None:
    same = {"Sec-Fetch-Site": "same-origin"}
    plain = shop.post("/consent/browser", json=BROWSER_BODY, headers=same)
    assert "secure" not in plain.headers["set-cookie"].lower()
    proxied = shop.post(
        "/consent/browser", json=BROWSER_BODY, headers={**same, "X-Forwarded-Proto": "https"}
    )
    assert "; secure" in proxied.headers["set-cookie"].lower()
    assert "httponly" in proxied.headers["set-cookie"].lower()
    tls = TestClient(shop.app, base_url="https://testserver")
    assert (
        "; secure"
        in tls.post("/consent/browser", json=BROWSER_BODY, headers=same)
        .headers["set-cookie"]
        .lower()
    )
    # X-Forwarded-Proto from a client that is not a trusted proxy is ignored
    untrusted_app = create_app(settings_, SHOP)
    untrusted = TestClient(untrusted_app)
    r = untrusted.post(
        "/consent/browser", json=BROWSER_BODY, headers={**same, "X-Forwarded-Proto": "https"}
    )
    assert "secure" not in r.headers["set-cookie"].lower()
    untrusted_app.state.services.engine.dispose()


def test_7_chunked_body_over_the_limit_is_413(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(100):
            yield b" " * 1024
        yield b"]"

    r = client.post(EVENTS, content=chunks(), headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text

    def small() -> Iterator[bytes]:
        yield b'{"subject": "ada.lovelace@example.test", '
        yield b'"consent_id": "marketing_email", "kind": "given"}'

    ok = client.post(EVENTS, content=small(), headers={**auth, "Content-Type": "application/json"})
    assert ok.status_code == 201, ok.text

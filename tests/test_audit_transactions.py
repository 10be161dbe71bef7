"""A state change and its audit entry commit together: a refused entry stores nothing, and
``troth audit verify`` reports every audited row that has no entry (by id, never by value)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from troth.audit import Ledger, legacy_entry_hash, verify
from troth.audit.hashing import GENESIS, canonical_json
from troth.cli import main
from troth.config import Settings
from troth.consent import ConsentLedger, NewEvent
from troth.dsr import Identity, Kind, Requests, Status
from troth.errors import AuditError
from troth.policy.loader import load_policy
from troth.retention.holds import add_hold, list_holds, release_hold
from troth.store import open_store
from troth.web import create_app
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parent.parent
MD = ROOT / "examples" / "mydigisoft"
ADA = "ada.lovelace@example.com"
KEY = b"test-secret-key-0123456789abcdef"


def _count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def _sql(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


# --- consent ------------------------------------------------------------------------------------


def test_consent_api_refuses_a_personal_channel_and_stores_nothing(
    state_url: str, troth_env: Path
) -> None:
    settings = Settings.from_env().with_database(state_url)
    engine = open_store(settings)
    writer = {
        "Authorization": f"Bearer {create_key(engine, settings.secret_key, ['consent:write'])}"
    }
    client = TestClient(create_app(settings, MD), raise_server_exceptions=False)
    bad = {"subject": ADA, "consent_id": "marketing_email", "kind": "given",
           "channel": "grace.hopper@example.com"}  # fmt: skip
    good = {"subject": "bob@example.com", "consent_id": "marketing_email", "kind": "given"}
    for body in (bad, bad, [good, bad]):  # the retry is refused too, and a batch with it
        r = client.post("/api/v1/consent/events", json=body, headers=writer)
        assert 400 <= r.status_code < 500, r.text
        assert "grace.hopper" not in r.text
        assert _count(engine, "SELECT count(*) FROM consent_event") == 0
        consent_entries = "SELECT count(*) FROM audit_entry WHERE substr(kind, 1, 8) = 'consent.'"
        assert _count(engine, consent_entries) == 0
    assert client.post("/api/v1/consent/events", json=good, headers=writer).status_code == 201
    assert _count(engine, "SELECT count(*) FROM consent_event") == 1
    assert verify(engine).ok
    engine.dispose()


def test_consent_event_is_not_stored_when_its_audit_entry_cannot_be(state_url: str) -> None:
    engine = open_store(state_url)
    ledger = ConsentLedger(engine, load_policy(MD / "policy.yaml").policy, key=KEY)
    _sql(engine, "DELETE FROM audit_head")  # any failure of the audit append will do
    with pytest.raises(AuditError, match="audit_head row is missing"):
        ledger.record(NewEvent(ADA, "marketing_email", "given"))
    assert ledger.count() == 0
    engine.dispose()


# --- DSR requests and retention holds -----------------------------------------------------------


def test_a_refused_transition_entry_leaves_the_request_as_it_was(
    state_url: str, troth_env: Path
) -> None:
    engine = open_store(state_url)
    requests = Requests(engine, KEY)
    info = requests.submit(Kind.access, [Identity("email", ADA)], ["gdpr"])
    with pytest.raises(AuditError, match="names a personal field"):
        requests.transition(info.id, Status.identity_verified, data={"email": ADA})
    assert requests.get(info.id).status == Status.received
    _sql(engine, "DELETE FROM audit_head")
    with pytest.raises(AuditError):
        requests.submit(Kind.erasure, [Identity("email", ADA)])
    assert _count(engine, "SELECT count(*) FROM dsr_request") == 1
    engine.dispose()


def test_a_refused_hold_entry_stores_no_hold(state_url: str) -> None:
    engine = open_store(state_url)
    with pytest.raises(AuditError, match="actor"):
        add_hold(engine, KEY, reason="case 1", identity="email", value=ADA, actor=ADA)
    assert list_holds(engine) == []
    hold = add_hold(engine, KEY, reason="case 1", identity="email", value=ADA)
    with pytest.raises(AuditError, match="actor"):
        release_hold(engine, hold.id, actor=ADA)
    assert [h.id for h in list_holds(engine)] == [hold.id]
    release_hold(engine, hold.id)
    assert list_holds(engine) == []
    assert verify(engine).ok
    engine.dispose()


# --- verify: every audited row has its entry ------------------------------------------------------


def test_verify_reports_audited_rows_without_entries_by_id(
    state_url: str, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_store(state_url)
    consent = ConsentLedger(engine, load_policy(MD / "policy.yaml").policy, key=KEY)
    consent.record(NewEvent(ADA, "marketing_email", "given"))
    requests = Requests(engine, KEY)
    info = requests.submit(Kind.access, [Identity("email", ADA)])
    hold = add_hold(engine, KEY, reason="case 1", identity="email", value=ADA)
    assert verify(engine).ok
    # what troth 0.1 left after a kill between the two commits: rows without their entries
    with engine.begin() as conn:
        row = conn.exec_driver_sql("SELECT * FROM consent_event").mappings().one()
        forged = {k: v for k, v in row.items() if k != "id"} | {"event_uid": "f" * 64}
        conn.execute(sa.table("consent_event", *map(sa.column, forged)).insert(), forged)
        conn.exec_driver_sql(f"UPDATE dsr_request SET status = 'approved' WHERE id = '{info.id}'")
        conn.exec_driver_sql(
            f"UPDATE retention_person_hold SET released_at = 'x' WHERE id = {hold.id}"
        )
    new_id = _count(engine, "SELECT max(id) FROM consent_event")
    result = verify(engine)
    assert not result.ok
    by_table = {m.table: m for m in result.missing}
    assert by_table["consent_event"].ids == (str(new_id),)
    assert by_table["dsr_request"].ids == (info.id,)
    assert by_table["retention_person_hold"].ids == (str(hold.id),)
    assert result.line().startswith(
        f"consent_event: 1 row without their audit entry (ids {new_id})"
    )
    url = engine.url.render_as_string(hide_password=False)
    assert main(["audit", "verify", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "consent_event: 1 row without their audit entry" in err
    assert "h:" not in err  # ids only: never the subject, nor any other value
    assert main(["audit", "verify", "--db", url, "--json"]) == 1
    missing = json.loads(capsys.readouterr().out)["missing"]
    assert {m["table"] for m in missing} == {
        "consent_event",
        "dsr_request",
        "retention_person_hold",
    }
    engine.dispose()


# --- ledgers of troth 0.1 (unkeyed) -------------------------------------------------------------


def _legacy_ledger(engine: sa.Engine, n: int = 4) -> str:
    """Entries as troth 0.1 wrote them: plain SHA-256, no ref, no key id in the head."""
    prev = GENESIS
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    insert = (
        "INSERT INTO audit_entry (seq, ts, kind, actor, subject, data, prev, hash) "
        f"VALUES ({', '.join([mark] * 8)})"
    )
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            ts, data = (
                f"2025-01-0{seq}T00:00:00.000000+00:00",
                canonical_json({"event_id": f"e{seq}"}),
            )
            h = legacy_entry_hash(seq, ts, "consent.given", "api", None, data, prev)
            conn.exec_driver_sql(insert, (seq, ts, "consent.given", "api", None, data, prev, h))
            prev = h
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {mark}, hash = {mark} WHERE id = 1", (n, prev)
        )
    return prev


def test_a_troth_0_1_ledger_is_upgraded_explicitly(
    state_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_store(state_url)
    old_head = _legacy_ledger(engine)
    with pytest.raises(AuditError, match="troth audit upgrade"):
        Ledger(engine).append("policy.version", {"version": 1}, actor="cli")
    result = verify(engine)
    assert result.first_bad == 1
    assert "unkeyed SHA-256 entry: written by troth 0.1" in result.line()
    url = engine.url.render_as_string(hide_password=False)
    assert main(["audit", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.startswith(
        "upgraded: 4 entries re-chained with the MAC, head 5:"
    )
    assert verify(engine).ok
    last = Ledger(engine).tail(1)[0]
    assert last.kind == "ledger.upgraded"
    assert last.data == {"format": 2, "legacy_entries": 4, "legacy_head_sha256": old_head}
    assert [e.ref for e in Ledger(engine).tail(5)[:4]] == [
        f"consent_event:e{i}" for i in (1, 2, 3, 4)
    ]
    assert Ledger(engine).append("policy.version", {"version": 1}, actor="cli").seq == 6
    assert main(["audit", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("nothing to upgrade: head 6:")
    engine.dispose()


def test_a_tampered_troth_0_1_ledger_is_not_upgraded(state_url: str) -> None:
    from troth.audit.upkeep import upgrade_ledger
    from troth.errors import LedgerTamperedError

    engine = open_store(state_url)
    _legacy_ledger(engine)
    _sql(engine, "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(LedgerTamperedError, match="entry 2: hash mismatch"):
        upgrade_ledger(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT key_id FROM audit_head").scalar() is None
    engine.dispose()

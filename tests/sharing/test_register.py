"""The disclosure register: one row per disclosure, batches sealed in the ledger, never values."""

from __future__ import annotations

import pytest

from troth.audit.coverage import missing_entries
from troth.audit.verify import verify
from troth.sharing import Gateway, disclosed_to, verify_register
from troth.sharing import gateway as gateway_module
from troth.store import connect

from .conftest import CONTACT, approved


def _people(n: int) -> list[dict[str, object]]:
    return [
        {**CONTACT, "id": i, "email": f"person{i}@example.com", "street": f"{i} Elm Street"}
        for i in range(n)
    ]


def _dump(gw: Gateway) -> str:
    """Every register row and ledger entry as text."""
    with connect(gw.engine) as conn:
        parts = [
            repr(conn.exec_driver_sql(f"SELECT * FROM {t}").all())
            for t in ("disclosure_batch", "disclosure", "audit_entry")
        ]
    return "\n".join(parts)


def test_register_entries_one_per_disclosure_sealed_per_batch(
    plus_gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "BATCH", 2)
    people = _people(5)
    out = plus_gw.disclose_many("courier_service", "courier_delivery", people, table="crm_contacts")
    assert len(out) == 5
    assert [d.n for d in out] == [0, 1, 0, 1, 0]
    with connect(plus_gw.engine) as conn:
        rows = conn.exec_driver_sql("SELECT batch, n, subject FROM disclosure").all()
        batches = conn.exec_driver_sql(
            "SELECT id, recipient, purpose, count, source FROM disclosure_batch"
        ).all()
        seals = conn.exec_driver_sql(
            "SELECT ref FROM audit_entry WHERE kind = 'disclosure.recorded'"
        ).all()
    assert len(rows) == 5
    assert sorted(r[2] for r in rows) == sorted(d.subject for d in out)
    assert sorted(b[3] for b in batches) == [1, 2, 2]
    assert {b[1:3] for b in batches} == {("courier_service", "courier_delivery")}
    assert {b[4] for b in batches} == {"plus.crm_contacts"}
    assert sorted(s[0] for s in seals) == sorted(f"disclosure_batch:{b[0]}" for b in batches)
    assert verify_register(plus_gw.engine) == []
    with connect(plus_gw.engine) as conn:
        assert missing_entries(conn) == []


def test_ledger_and_register_hold_no_values(plus_gw: Gateway) -> None:
    people = _people(3)
    plus_gw.disclose_many("courier_service", "courier_delivery", people)
    legal = approved(plus_gw)
    plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT, legal_request=legal)
    text = _dump(plus_gw)
    for person in [*people, CONTACT]:
        for field in ("email", "first_name", "last_name", "phone", "street", "city", "zip"):
            assert str(person[field]) not in text, field
    assert "Elm Street" not in text
    assert verify(plus_gw.engine).ok


def test_a_changed_or_removed_register_row_is_found(plus_gw: Gateway) -> None:
    out = plus_gw.disclose_many("courier_service", "courier_delivery", _people(3))
    assert verify_register(plus_gw.engine) == []
    with connect(plus_gw.engine) as conn, conn.begin():
        conn.exec_driver_sql("UPDATE disclosure SET subject = 'h:' || 'x' WHERE n = 1")
    [problem] = verify_register(plus_gw.engine)
    assert out[0].batch in problem
    assert "altered" in problem
    with connect(plus_gw.engine) as conn, conn.begin():
        conn.exec_driver_sql("DELETE FROM disclosure WHERE n = 1")
    [problem] = verify_register(plus_gw.engine)
    assert "2 rows; its ledger entry seals 3" in problem
    with connect(plus_gw.engine) as conn, conn.begin():
        conn.exec_driver_sql(
            "INSERT INTO disclosure_batch (id, recipient, purpose, disclosed_at, actor, count, "
            "shapes) VALUES ('forged', 'courier_service', 'courier_delivery', 'x', 'x', 0, '[]')"
        )
        assert [m.table for m in missing_entries(conn)] == ["disclosure_batch"]


def test_disclosed_to_lists_the_recipients_of_the_person_only(plus_gw: Gateway) -> None:
    people = _people(2)
    out = plus_gw.disclose_many("courier_service", "courier_delivery", people)
    plus_gw.disclose("courier_service", "courier_delivery", people[0])
    legal = approved(plus_gw, categories=("user.name",))
    plus_gw.disclose("legal_authorities", "legal_disclosure", people[0], legal_request=legal)
    secret = approved(plus_gw, "Tax office", "Tax code 99", confidential=True)
    plus_gw.disclose("legal_authorities", "legal_disclosure", people[1], legal_request=secret)
    [courier, police] = disclosed_to(plus_gw.engine, [out[0].subject])
    assert courier.recipient == "courier_service"
    assert courier.count == 2
    assert courier.purposes == ("courier_delivery",)
    assert "user.contact.address.street" in courier.categories
    assert not courier.legal_request
    assert police.recipient == "legal_authorities"
    assert police.categories == ("user.name.first", "user.name.last")
    assert police.legal_request
    # the confidential request's disclosure stays out of the second person's list
    [only] = disclosed_to(plus_gw.engine, [out[1].subject])
    assert only.recipient == "courier_service"
    assert only.count == 1
    assert disclosed_to(plus_gw.engine, ["h:" + "0" * 64]) == []

"""The disclosure gateway: only the fields the policy allows leave; the rest is refused (PL-8,
PL-9, MD-7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import troth
from troth.dsr.identity import Identity, identity_hash
from troth.errors import DisclosureRefusedError, RequestError, UnknownNameError
from troth.project import Project
from troth.sharing import Gateway, LegalRequest
from troth.store import connect, open_store

from .conftest import ADDRESS, CONTACT, KEY, PLUS, approved


def _count(gw: Gateway, table: str) -> int:
    with connect(gw.engine) as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def _entries(gw: Gateway, kind: str) -> list[dict[str, object]]:
    with connect(gw.engine) as conn:
        rows = conn.exec_driver_sql(
            "SELECT data FROM audit_entry WHERE kind = ? ORDER BY seq"
            if gw.engine.dialect.name == "sqlite"
            else "SELECT data FROM audit_entry WHERE kind = %s ORDER BY seq",
            (kind,),
        ).all()
    return [json.loads(r[0]) for r in rows]


def test_pl_8_courier_gets_the_delivery_address_only(plus_gw: Gateway) -> None:
    d = plus_gw.disclose("courier_service", "courier_delivery", CONTACT, table="crm_contacts")
    assert d.fields == {k: CONTACT[k] for k in ADDRESS}
    assert set(d.withheld) == set(CONTACT) - set(ADDRESS)
    assert d.categories == (
        "user.contact.address.city",
        "user.contact.address.country",
        "user.contact.address.postal_code",
        "user.contact.address.street",
    )
    # the subject is troth's keyed hash of the record's e-mail (case-insensitive)
    assert d.subject == identity_hash(KEY, Identity("email", "ada.lovelace@example.com"))


def test_pl_8_courier_gets_name_and_address_when_the_policy_declares_the_name(
    troth_env: Path, sqlite_url: str, plus: Project
) -> None:
    policy = plus.policy.policy.model_copy(deep=True)
    courier = next(r for r in policy.recipients if r.id == "courier_service")
    purpose = next(p for p in policy.purposes if p.id == "courier_delivery")
    assert isinstance(courier.categories, list)
    courier.categories.append("user.name")
    purpose.categories.append("user.name")
    assert plus.datamap is not None
    gw = Gateway(policy, plus.datamap.datamap, open_store(sqlite_url), key=KEY)
    d = gw.disclose("courier_service", "courier_delivery", CONTACT, table="plus.crm_contacts")
    assert set(d.fields) == {"first_name", "last_name", *ADDRESS}
    assert {"email", "phone", "id", "account_id"} <= set(d.withheld)


def test_a_field_without_categories_or_unknown_to_the_map_never_leaves(plus_gw: Gateway) -> None:
    record = {**CONTACT, "notes": "fragile", "company": "Example Ltd"}
    d = plus_gw.disclose("courier_service", "courier_delivery", record)  # no table: whole map
    assert set(d.fields) == set(ADDRESS)
    assert {"notes", "company", "id"} <= set(d.withheld)


def test_refused_recipient_is_not_registered_and_the_refusal_is(plus_gw: Gateway) -> None:
    with pytest.raises(DisclosureRefusedError, match="'couriers' is not declared") as info:
        plus_gw.disclose("couriers", "courier_delivery", CONTACT)
    assert "courier_service" in info.value.one_line()  # did you mean / valid names
    with pytest.raises(DisclosureRefusedError, match=r"\(not an id\)") as info:
        plus_gw.disclose("ada@example.com", "courier_delivery", CONTACT)
    assert "ada@example.com" not in info.value.one_line()
    assert _count(plus_gw, "disclosure") == 0
    assert _count(plus_gw, "disclosure_batch") == 0
    refused = _entries(plus_gw, "disclosure.refused")
    assert [r["recipient"] for r in refused] == ["couriers", None]
    assert all(r["reason"] == "recipient" for r in refused)


def test_refused_purpose(plus_gw: Gateway) -> None:
    with pytest.raises(DisclosureRefusedError, match="purpose 'provide_services'") as info:
        plus_gw.disclose("courier_service", "provide_services", CONTACT)
    assert "courier_delivery" in info.value.one_line()
    # a recipient the policy gives no purpose receives nothing
    with pytest.raises(DisclosureRefusedError, match="declares no purpose"):
        plus_gw.disclose("other_service_providers", "provide_services", CONTACT)
    assert _count(plus_gw, "disclosure") == 0


def test_md_7_no_recipient_declared_so_every_disclosure_is_refused(md_gw: Gateway) -> None:
    row = {"email": "ada@example.com", "first_name": "Ada"}
    for recipient, purpose in [("courier", "order_fulfilment"), ("google", "marketing_email")]:
        with pytest.raises(DisclosureRefusedError, match="declares no recipient") as info:
            md_gw.disclose(recipient, purpose, row)
        assert "no third-party sharing" in info.value.one_line()
    assert _count(md_gw, "disclosure") == 0


def test_pl_9_authorities_only_on_a_recorded_approved_legal_request(plus_gw: Gateway) -> None:
    with pytest.raises(DisclosureRefusedError, match="only on a legal request"):
        plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT)
    inline = LegalRequest(authority="Springfield police", basis="Court order 2026/17")
    with pytest.raises(DisclosureRefusedError, match="recorded, approved legal request"):
        plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT, legal_request=inline)
    pending = plus_gw.legal.record(
        "legal_authorities", "legal_disclosure", authority="Springfield police",
        basis="Court order 2026/17", actor="alice",
    )  # fmt: skip
    assert pending.id is not None
    with pytest.raises(DisclosureRefusedError, match="is not approved"):
        plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT, legal_request=pending.id)
    with pytest.raises(DisclosureRefusedError, match="someone other than who recorded it"):
        plus_gw.legal.approve(pending.id, actor="alice")  # four eyes
    plus_gw.legal.approve(pending.id, actor="bob")
    d = plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT, legal_request=pending.id)
    # categories: all, and the purpose lists none: every personal field, never the ids
    assert set(d.fields) == set(CONTACT) - {"id", "account_id", "created_at"}
    narrow = approved(
        plus_gw, "Springfield police", "Court order 2026/18", categories=("user.name",)
    )
    d2 = plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT, legal_request=narrow)
    assert set(d2.fields) == {"first_name", "last_name"}
    [seal, seal2] = _entries(plus_gw, "disclosure.recorded")
    assert seal["authority"] == "Springfield police"
    assert seal["legal_basis"] == "Court order 2026/17"
    assert seal["legal_request_id"] == pending.id
    assert seal2["categories"] == ["user.name.first", "user.name.last"]
    # an approved request is for its recipient and purpose only
    refused = plus_gw.legal.record(
        "legal_authorities", "legal_disclosure", authority="x", basis="y", actor="alice"
    )
    assert refused.id is not None
    plus_gw.legal.refuse(refused.id, actor="bob")
    with pytest.raises(DisclosureRefusedError, match="it is refused"):
        plus_gw.disclose("legal_authorities", "legal_disclosure", CONTACT, legal_request=refused.id)
    with pytest.raises(DisclosureRefusedError, match="legal request needs its basis"):
        LegalRequest(authority="Springfield police", basis=" ")
    with pytest.raises(DisclosureRefusedError, match="needs the reason"):
        plus_gw.legal.record(
            "legal_authorities", "legal_disclosure", authority="x", basis="y",
            confidential=True, actor="alice",
        )  # fmt: skip


def test_a_record_that_names_no_person_refuses_the_batch(plus_gw: Gateway) -> None:
    rows = [CONTACT, {"street": "1 Main St", "city": "Springfield"}]
    with pytest.raises(RequestError, match="record 1 names no identity"):
        plus_gw.disclose_many("courier_service", "courier_delivery", rows)
    assert _count(plus_gw, "disclosure") == 0
    d = plus_gw.disclose(
        "courier_service",
        "courier_delivery",
        rows[1],
        subject=Identity("phone", "+1 555 0100"),
    )
    assert d.subject == identity_hash(KEY, Identity("phone", "+1 555 0100"))


def test_unknown_source_table_lists_the_valid_ones(plus_gw: Gateway) -> None:
    with pytest.raises(UnknownNameError, match=r"plus\.crm_contacts"):
        plus_gw.disclose("courier_service", "courier_delivery", CONTACT, table="contacts")


def test_troth_disclose_uses_the_project_of_the_environment(
    troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TROTH_PROJECT", str(PLUS))
    d = troth.disclose("courier_service", "courier_delivery", CONTACT, table="crm_contacts")
    assert set(d.fields) == set(ADDRESS)
    with pytest.raises(DisclosureRefusedError):
        troth.disclose("nobody", "courier_delivery", CONTACT)

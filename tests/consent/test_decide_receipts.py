"""allows() decisions (legal basis, consent, restriction, GPC, cache) and signed receipts."""

from __future__ import annotations

import time

import pytest

from troth.consent import (
    ConsentLedger,
    Decider,
    NewEvent,
    build_receipt,
    sign_receipt,
    verify_receipt,
)
from troth.errors import ConsentError, UnknownNameError
from troth.policy.model import LegalBasis, Policy, Purpose

ADA = "ada.lovelace@example.test"
KEY = b"test-secret-key-0123456789abcdef"  # as in conftest.py


def test_md_3_marketing_only_after_notification_desk_opt_in(md_decider: Decider) -> None:
    ledger = md_decider.ledger
    first = md_decider.allows(ADA, "marketing_email")
    assert not first
    assert "no consent 'marketing_email' recorded" in first.reason
    ledger.record(NewEvent(ADA, "marketing_email", "given", channel="notification_desk"))
    ok = md_decider.allows(ADA, "marketing_email")
    assert ok
    assert ok.consent_id == "marketing_email"
    ledger.record(NewEvent(ADA, "marketing_email", "withdrawn"))
    denied = md_decider.allows(ADA, "marketing_email")
    assert not denied
    assert "withdrawn" in denied.reason


def test_contract_and_legal_obligation_need_no_consent(md_decider: Decider) -> None:
    assert md_decider.allows(ADA, "order_fulfilment").reason == "legal basis contract"
    assert md_decider.allows(ADA, "trade_compliance")
    assert md_decider.allows(ADA, "customer_recognition").basis == "legitimate_interest"


def test_restriction_hook_denies_except_legal_obligation(md_sqlite_ledger: ConsentLedger) -> None:
    ref = md_sqlite_ledger.subject_ref(ADA)
    decider = Decider(md_sqlite_ledger, restrictions=lambda s: frozenset({"*"} if s == ref else ()))
    d = decider.allows(ADA, "customer_recognition")
    assert not d
    assert "restricted" in d.reason
    assert decider.allows(ADA, "trade_compliance")
    assert decider.allows("bob@example.test", "customer_recognition")


def test_restriction_request_is_honoured_by_decisions(md_sqlite_ledger: ConsentLedger) -> None:
    """A restriction recorded by a data-subject request (troth dsr restrict) refuses processing
    for every purpose but legal obligations."""
    from troth.dsr.identity import Identity
    from troth.dsr.restriction import restrict_identities

    decider = Decider(md_sqlite_ledger)  # default hook: the dsr_restriction table
    assert decider.allows(ADA, "customer_recognition")
    restrict_identities(md_sqlite_ledger.engine, KEY, [Identity("email", ADA.upper())])
    decider.invalidate(ADA)
    assert not decider.allows(ADA, "customer_recognition")
    assert not decider.allows(ADA, "service_improvement")
    assert decider.allows(ADA, "trade_compliance")
    assert decider.allows("bob@example.test", "customer_recognition")


def _with_ads(policy: Policy) -> Policy:
    extra = [
        Purpose(
            id="retargeting",
            name="Retargeting ads",
            use="marketing.advertising.third_party.targeted",
            legal_basis=LegalBasis.consent,
            consents=["marketing_email"],
        ),
        Purpose(
            id="authority_disclosure",
            name="Disclosure to authorities",
            use="third_party_sharing.legal_obligation",
            legal_basis=LegalBasis.legal_obligation,
        ),
    ]
    return policy.model_copy(update={"purposes": [*policy.purposes, *extra]})


def test_gpc_opts_out_of_targeted_advertising(
    md_sqlite_ledger: ConsentLedger, md_policy: Policy
) -> None:
    ledger = ConsentLedger(md_sqlite_ledger.engine, _with_ads(md_policy), key=md_sqlite_ledger.key)
    decider = Decider(ledger, restrictions=lambda _s: frozenset())
    ledger.record(NewEvent(ADA, "marketing_email", "given"))
    assert decider.allows(ADA, "retargeting")
    d = decider.allows(ADA, "retargeting", gpc=True)
    assert not d
    assert "Global Privacy Control" in d.reason
    assert decider.allows(ADA, "authority_disclosure", gpc=True)
    assert decider.allows(ADA, "marketing_email", gpc=True)  # e-mail is not sale/sharing/ads


def test_allows_matrix_md(md_decider: Decider) -> None:
    md_decider.ledger.record(NewEvent(ADA, "marketing_email", "refused"))
    expected = {
        "order_fulfilment": True,
        "technical_support": True,
        "marketing_email": False,
        "customer_recognition": True,
        "trade_compliance": True,
        "google_user_request": True,
    }
    assert {p: bool(md_decider.allows(ADA, p)) for p in expected} == expected


def test_unknown_purpose_lists_valid(md_decider: Decider) -> None:
    with pytest.raises(UnknownNameError, match="marketing_email"):
        md_decider.allows(ADA, "marketing_mail")


def test_decisions_cached_and_invalidated(md_decider: Decider) -> None:
    md_decider.ledger.record(NewEvent(ADA, "marketing_email", "given"))
    d1 = md_decider.allows(ADA, "marketing_email")
    assert md_decider.allows(ADA, "marketing_email") is d1  # cached object
    md_decider.ledger.record(NewEvent(ADA, "marketing_email", "withdrawn"))
    assert not md_decider.allows(ADA, "marketing_email")


def test_allows_warm_is_fast(md_decider: Decider) -> None:
    md_decider.allows(ADA, "marketing_email")
    n = 200_000
    start = time.perf_counter()
    for _ in range(n):
        md_decider.allows(ADA, "marketing_email")
    rate = n / (time.perf_counter() - start)
    assert rate > 250_000, rate  # bench target 500k/s; half of it under test load


def test_pl_7_dashboards_and_personalisation_need_platform_consent(
    sqlite_url: str, plus_policy: Policy
) -> None:
    from troth.store import open_store

    ledger = ConsentLedger(open_store(sqlite_url), plus_policy, key=b"k" * 32)
    decider = Decider(ledger, restrictions=lambda _s: frozenset())
    assert not decider.allows("ops@example.test", "usage_dashboards")
    ledger.record(NewEvent("ops@example.test", "platform_use", "given"))
    assert decider.allows("ops@example.test", "usage_dashboards")
    assert decider.allows("ops@example.test", "personalisation")
    assert decider.allows("ops@example.test", "legal_disclosure")


def test_receipt_lists_state_and_verifies(md_ledger: ConsentLedger) -> None:
    md_ledger.record(NewEvent(ADA, "marketing_email", "given", event_time="2026-01-01T00:00:00Z"))
    receipt = build_receipt(md_ledger, ADA)
    assert receipt["subject"] == md_ledger.subject_ref(ADA)
    [rec] = receipt["consents"]
    assert rec["state"] == "given"
    assert rec["purposes"][0]["id"] == "marketing_email"
    assert len(rec["notice"]["hash"]) == 64
    assert ADA not in str(receipt)
    token = sign_receipt(receipt, b"receipt-key-0123456789abcdef")
    assert verify_receipt(token, b"receipt-key-0123456789abcdef") == receipt
    header, payload, mac = token.split(".")
    tampered = f"{header}.{payload[:-2]}AA.{mac}"
    with pytest.raises(ConsentError, match="does not verify"):
        verify_receipt(tampered, b"receipt-key-0123456789abcdef")
    with pytest.raises(ConsentError):
        verify_receipt(token, b"another-key-0123456789abcdef")

"""Conformance of the two reference deployments with their customers' published policies.

``examples/mydigisoft`` encodes seed 000 (promises MD-1..MD-14) and ``examples/plus`` seed 004
(PL-1..PL-15). Every promise id must be declared with a quote found verbatim in the example's
``published.txt``, attached to at least one element, and encoded the way the published text says
(one targeted test per id, named after it). Gaps of the published texts are preserved on purpose;
these tests pin them (for example, PL-8's delivery address is shared but never collected).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from troth.policy import PolicyDocument, load_policy
from troth.policy.model import (
    ChangeNotice,
    CommitmentKind,
    ConsentMechanism,
    CookiePreferences,
    LegalBasis,
    Policy,
    RecipientType,
    RetentionAction,
    RightKind,
    Source,
    Storage,
)
from troth.policy.taxonomy import covers

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SEEDS = Path("/work/shared/seeds")

MYDIGISOFT = "mydigisoft"
PLUS = "plus"
PROMISE_IDS: dict[str, list[str]] = {
    MYDIGISOFT: [f"MD-{i}" for i in range(1, 15)],
    PLUS: [f"PL-{i}" for i in range(1, 16)],
}
SEED_FILES = {MYDIGISOFT: "000_72d1bf1214b05166.txt", PLUS: "004_81267315e7b504c4.txt"}
ALL_IDS = [(name, pid) for name, ids in PROMISE_IDS.items() for pid in ids]
NBSP_PLACEHOLDER = "[email\u00a0protected]"  # Cloudflare e-mail obfuscation left in seed 004


@cache
def doc(name: str) -> PolicyDocument:
    return load_policy(EXAMPLES / name)


def policy(name: str) -> Policy:
    return doc(name).policy


@cache
def published(name: str) -> str:
    return (EXAMPLES / name / "published.txt").read_text(encoding="utf-8")


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every model in the policy that can carry promise ids, with its dotted path."""
    if isinstance(node, BaseModel):
        if isinstance(getattr(node, "promises", None), list) and not isinstance(node, Policy):
            yield path, node
        for field in type(node).model_fields:
            yield from walk(getattr(node, field), f"{path}.{field}" if path else field)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk(item, f"{path}[{i}]")


def attached(name: str) -> dict[str, list[str]]:
    """Promise id -> paths of the elements it is attached to."""
    out: dict[str, list[str]] = {}
    for path, element in walk(policy(name)):
        if path == "promises" or path.startswith("promises["):
            continue
        for pid in element.promises:
            out.setdefault(pid, []).append(path)
    return out


def with_promise(items: list[Any], pid: str) -> list[Any]:
    return [item for item in items if pid in item.promises]


# --- the examples as a whole ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [MYDIGISOFT, PLUS])
def test_example_loads_without_errors(name: str) -> None:
    document = doc(name)
    assert document.path == EXAMPLES / name / "policy.yaml"
    assert document.policy.promises


@pytest.mark.parametrize("name", [MYDIGISOFT, PLUS])
def test_published_text_is_the_seed_verbatim(name: str) -> None:
    seed = SEEDS / SEED_FILES[name]
    if not seed.exists():
        pytest.skip(f"seed file {seed} not available here")
    assert (EXAMPLES / name / "published.txt").read_bytes() == seed.read_bytes()


@pytest.mark.parametrize(("name", "pid"), ALL_IDS)
def test_promise_is_declared(name: str, pid: str) -> None:
    declared = {p.id: p for p in policy(name).promises}
    assert pid in declared, f"{pid} is not declared under `promises:` of examples/{name}"
    assert declared[pid].text
    assert declared[pid].quote


@pytest.mark.parametrize(("name", "pid"), ALL_IDS)
def test_promise_is_attached_to_an_element(name: str, pid: str) -> None:
    assert attached(name).get(pid), f"{pid} is attached to no element of examples/{name}"


@pytest.mark.parametrize(("name", "pid"), ALL_IDS)
def test_promise_quote_occurs_verbatim_in_published_text(name: str, pid: str) -> None:
    promise = next(p for p in policy(name).promises if p.id == pid)
    assert promise.quote is not None
    assert promise.quote in published(name), f"{pid}: quote not found verbatim in published.txt"


@pytest.mark.parametrize("name", [MYDIGISOFT, PLUS])
def test_only_the_checklist_promises_are_declared_and_attached(name: str) -> None:
    declared = [p.id for p in policy(name).promises]
    assert declared == PROMISE_IDS[name]
    undeclared = set(attached(name)) - set(declared)
    assert not undeclared, f"attached but not declared: {sorted(undeclared)}"


@pytest.mark.parametrize("name", [MYDIGISOFT, PLUS])
def test_every_assumption_explains_itself(name: str) -> None:
    for path, element in walk(policy(name)):
        for field, why in getattr(element, "assumptions", {}).items():
            assert len(why) > 15, f"{path}.assumptions.{field}: say why"


# --- MyDigiSoft (seed 000) ------------------------------------------------------------------------


def test_md_1_order_data_collected_to_complete_purchase_and_deliver_credentials() -> None:
    p = policy(MYDIGISOFT)
    [order] = [cp for cp in p.collection_points if cp.kind == "order_form"]
    assert "MD-1" in order.promises
    assert "user.authorization.licence_credentials" in order.categories
    assert "user.behavior.purchase_history" in order.categories
    purpose = p.purpose("order_fulfilment")
    assert purpose is not None
    assert "MD-1" in purpose.promises
    assert covers("essential.service", purpose.use)
    assert purpose.legal_basis is LegalBasis.contract
    assert "legal_basis" in purpose.assumptions  # the text states no legal basis
    assert "order_fulfilment" in order.purposes


def test_md_2_support_queries_answered_by_email() -> None:
    p = policy(MYDIGISOFT)
    [desk] = [cp for cp in p.collection_points if cp.kind == "support_desk"]
    assert "MD-2" in desk.promises
    assert "user.contact.email" in desk.categories
    [support] = [x for x in p.purposes if x.use == "essential.service.operations.support"]
    assert "MD-2" in support.promises
    assert "user.contact.email" in support.categories
    assert "legal_basis" in support.assumptions


def test_md_3_marketing_only_with_notification_desk_consent() -> None:
    p = policy(MYDIGISOFT)
    marketing = [x for x in p.purposes if covers("marketing", x.use)]
    assert [x.use for x in marketing] == ["marketing.communications.email"]
    [purpose] = marketing
    assert "MD-3" in purpose.promises
    assert purpose.legal_basis is LegalBasis.consent
    assert purpose.consents
    for cid in purpose.consents:
        consent = p.consent(cid)
        assert consent is not None
        assert "MD-3" in consent.promises
        assert consent.default is False
        assert consent.mechanism is ConsentMechanism.opt_in
        assert purpose.id in consent.purposes
        desk = next(cp for cp in p.collection_points if cp.id == consent.channel)
        assert desk.kind == "notification_desk"
        assert "MD-3" in desk.promises
        assert purpose.id in desk.purposes
        assert consent.withdrawal  # withdrawable (how: assumed, the text is silent)
        assert "withdrawal" in consent.assumptions
        assert consent.notice.text in published(MYDIGISOFT)
    assert any(r.right is RightKind.withdraw_consent for r in with_promise(p.rights, "MD-3"))


def test_md_4_first_last_name_email_phone_collected() -> None:
    p = policy(MYDIGISOFT)
    md4 = {c.key for c in with_promise(p.data_categories, "MD-4")}
    assert md4 == {
        "user.name.first",
        "user.name.last",
        "user.contact.email",
        "user.contact.phone_number",
    }
    assert md4 <= set(p.collected_categories())


def test_md_5_contact_and_purchase_history_retained_without_a_period() -> None:
    p = policy(MYDIGISOFT)
    [rule] = with_promise(p.retention, "MD-5")
    assert "user.behavior.purchase_history" in rule.categories
    assert "user.contact.email" in rule.categories
    assert rule.period is None  # "for future reference": no period in the text
    assert "period" in rule.assumptions
    purpose = p.purpose("customer_recognition")
    assert purpose is not None
    assert "MD-5" in purpose.promises
    assert purpose.id in rule.purposes


def test_md_6_country_for_trade_compliance_and_security() -> None:
    p = policy(MYDIGISOFT)
    purposes = with_promise(p.purposes, "MD-6")
    uses = {x.use for x in purposes}
    assert {"essential.legal_obligation", "essential.service.security"} <= uses
    for purpose in purposes:
        assert purpose.categories == ["user.contact.address.country"]
        assert "legal_basis" in purpose.assumptions
    trade = next(x for x in purposes if x.use == "essential.legal_obligation")
    assert trade.legal_basis is LegalBasis.legal_obligation
    assert trade.statute is None  # no law named
    assert "user.contact.address.country" in p.collected_categories()
    assert "user.device.ip_address" not in p.collected_categories()


def test_md_7_no_third_party_sharing_and_no_third_party_recipient() -> None:
    p = policy(MYDIGISOFT)
    [commitment] = with_promise(p.commitments, "MD-7")
    assert commitment.kind is CommitmentKind.no_third_party_sharing
    assert commitment.text in published(MYDIGISOFT)
    assert not [r for r in p.recipients if r.type is RecipientType.third_party]
    assert p.recipients == []


def test_md_8_protection_against_unauthorised_access() -> None:
    measures = with_promise(policy(MYDIGISOFT).security, "MD-8")
    assert {m.kind for m in measures} == {"technical", "organisational"}
    assert any("unauthorized access" in m.description for m in measures)


def test_md_9_regular_malware_scans_with_assumed_frequency() -> None:
    [scan] = with_promise(policy(MYDIGISOFT).security, "MD-9")
    assert scan.evidence is not None
    assert scan.evidence.kind == "security.malware_scan"
    assert "evidence" in scan.assumptions  # "regular" has no frequency in the text


def test_md_10_system_kept_up_to_date() -> None:
    [update] = with_promise(policy(MYDIGISOFT).security, "MD-10")
    assert "latest security measures" in update.description
    if update.evidence is not None:
        assert "evidence" in update.assumptions


def test_md_11_oauth_access_to_gmail_contacts_calendar() -> None:
    p = policy(MYDIGISOFT)
    [oauth] = [cp for cp in p.collection_points if cp.kind == "oauth"]
    assert "MD-11" in oauth.promises
    assert oauth.source is Source.user_on_behalf
    [google] = p.restricted_sources
    assert "MD-11" in google.promises
    assert set(oauth.categories) == set(google.categories)
    assert len(google.categories) == 3
    assert {c.split(".")[-1] for c in google.categories} == {
        "email_message",
        "calendar_event",
        "address_book",
    }
    assert set(oauth.purposes) == set(google.allowed_purposes) == {"google_user_request"}


def test_md_12_google_data_not_stored_and_only_on_user_request() -> None:
    [google] = policy(MYDIGISOFT).restricted_sources
    assert "MD-12" in google.promises
    assert google.storage is Storage.none
    assert google.on_user_request_only is True
    # no retention rule for data that is never stored
    held = {c for r in policy(MYDIGISOFT).retention for c in r.categories}
    assert not held & set(google.categories)


def test_md_13_google_api_services_user_data_policy_limited_use() -> None:
    [google] = policy(MYDIGISOFT).restricted_sources
    assert "MD-13" in google.promises
    assert google.provider == "google"
    assert google.program_policy == "Google API Services User Data Policy"
    assert google.limited_use is True
    assert any(covers(use, "marketing.advertising") for use in google.forbidden_uses)
    for purpose_id in google.allowed_purposes:
        purpose = policy(MYDIGISOFT).purpose(purpose_id)
        assert purpose is not None
        assert not covers("marketing", purpose.use)


def test_md_14_policy_meta_is_the_published_text() -> None:
    p = policy(MYDIGISOFT)
    assert "MD-14" in p.policy.promises
    assert p.policy.id == "mydigisoft"
    assert "version" in p.policy.assumptions  # the text carries no version
    assert (EXAMPLES / MYDIGISOFT / "published.txt").is_file()
    # what the text does not give stays empty: no address, no contact, no DPO, no jurisdiction
    assert p.organisation.address is None
    assert p.organisation.contact is None
    assert p.organisation.dpo == []
    assert p.jurisdictions == []
    assert p.cookies is None


# --- AUTODIGI Plus platform (seed 004) ------------------------------------------------------------


def test_pl_1_three_products() -> None:
    p = policy(PLUS)
    assert "PL-1" in p.policy.promises
    assert p.organisation.legal_name == "AUTODIGI CO., LTD."
    for product in ("Plus Connect", "Plus CRM", "Plus Adtech"):
        assert p.policy.scope is not None
        assert product in p.policy.scope
    service = p.purpose("provide_services")
    assert service is not None
    assert "PL-1" in service.promises


def test_pl_2_account_data_including_password() -> None:
    p = policy(PLUS)
    keys = {c.key for c in with_promise(p.data_categories, "PL-2")}
    assert keys == {"user.name", "user.contact.email", "user.authorization.password"}
    [signup] = with_promise(p.collection_points, "PL-2")
    assert set(signup.categories) == keys


def test_pl_3_usage_data() -> None:
    keys = {c.key for c in with_promise(policy(PLUS).data_categories, "PL-3")}
    assert keys == {
        "user.behavior.chat_history",
        "user.content.private.message_content",
        "user.behavior.usage_patterns",
        "user.behavior.crm_activity",
        "user.behavior.ad_interactions",
    }


def test_pl_4_device_data() -> None:
    keys = {c.key for c in with_promise(policy(PLUS).data_categories, "PL-4")}
    assert keys == {
        "user.device.ip_address",
        "user.device.device_type",
        "user.device.operating_system",
        "user.device.browser",
    }
    [device] = with_promise(policy(PLUS).collection_points, "PL-4")
    assert device.source is Source.observed


def test_pl_5_crm_data_of_the_business_customers_without_addresses() -> None:
    p = policy(PLUS)
    assert "end_customer" in {s.key for s in p.data_subjects}
    [crm] = with_promise(p.collection_points, "PL-5")
    assert crm.subjects == ["end_customer"]
    assert set(crm.categories) == {
        "user.name",
        "user.contact.email",
        "user.contact.phone_number",
        "user.behavior.business_interactions",
    }
    assert "categories" in crm.assumptions  # "contact information" is not itemised
    assert not any(covers("user.contact.address", c) for c in crm.categories)


def test_pl_6_ad_campaign_data_and_interactions() -> None:
    p = policy(PLUS)
    keys = {c.key for c in with_promise(p.data_categories, "PL-6")}
    assert {"user.content.private.ad_campaign", "user.behavior.ad_interactions"} <= keys
    [ads] = with_promise(p.collection_points, "PL-6")
    assert "ad_audience" in ads.subjects


def test_pl_7_uses_rely_on_consent_implied_by_use() -> None:
    p = policy(PLUS)
    uses = {x.use for x in with_promise(p.purposes, "PL-7")}
    assert uses == {
        "essential.service",
        "functional.service.improve",
        "analytics.reporting",
        "personalize.system",
    }
    platform_use = p.consent("platform_use")
    assert platform_use is not None
    assert platform_use.mechanism is ConsentMechanism.implied_by_use
    assert platform_use.withdrawal is None  # the text offers no way to withdraw it
    assert platform_use.notice.text in published(PLUS)
    for purpose in with_promise(p.purposes, "PL-7"):
        assert purpose.legal_basis is LegalBasis.consent
        assert "platform_use" in purpose.consents
        assert purpose.id in platform_use.purposes
    personal = p.purpose("personalisation")
    assert personal is not None
    assert "pin setting" in (personal.description or "")


def test_pl_8_courier_receives_delivery_address_never_collected() -> None:
    p = policy(PLUS)
    [courier] = [r for r in with_promise(p.recipients, "PL-8") if r.id == "courier_service"]
    assert courier.type is RecipientType.processor
    assert courier.categories == ["user.contact.address"]
    collected = p.collected_categories()
    assert not any(covers("user.contact.address", c) for c in collected)
    assert not any(covers("user.contact.address", c) for r in p.retention for c in r.categories)


def test_pl_9_disclosure_to_authorities_only_on_legal_request() -> None:
    p = policy(PLUS)
    [authority] = with_promise(p.recipients, "PL-9")
    assert authority.type is RecipientType.authority
    assert authority.legal_request_required is True
    assert authority.categories == "all"  # the text does not limit what is disclosed
    [purpose] = with_promise(p.purposes, "PL-9")
    assert purpose.legal_basis is LegalBasis.legal_obligation
    assert purpose.id in authority.purposes
    assert purpose.statute is None  # no law named


def test_pl_10_reasonable_security() -> None:
    [measure] = with_promise(policy(PLUS).security, "PL-10")
    assert "reasonable security measures" in measure.description
    assert measure.evidence is None  # no measure is named, nothing to evidence


def test_pl_11_retention_per_data_type_unspecified_delete_with_legal_hold() -> None:
    p = policy(PLUS)
    rules = with_promise(p.retention, "PL-11")
    assert {r.id for r in rules} == {
        "account_data",
        "usage_data",
        "device_data",
        "customer_data",
        "ad_data",
    }
    for rule in rules:
        assert rule.period is None
        assert "period" in rule.assumptions
        assert rule.action is RetentionAction.delete
        assert rule.legal_holds
        for hold in rule.legal_holds:
            assert hold.law is None
            assert "law" in hold.assumptions
    retained = {c for r in rules for c in r.categories}
    assert set(p.collected_categories()) <= retained


def test_pl_12_erasure_on_request_via_the_dpo() -> None:
    p = policy(PLUS)
    [erasure] = with_promise(p.rights, "PL-12")
    assert erasure.right is RightKind.erasure
    assert "DPO" in erasure.channel
    assert erasure.contact == NBSP_PLACEHOLDER
    assert all("PL-12" in d.promises for d in p.organisation.dpo)


def test_pl_13_cookies_with_browser_settings_preferences() -> None:
    p = policy(PLUS)
    assert p.cookies is not None
    assert "PL-13" in p.cookies.promises
    assert p.cookies.preferences is CookiePreferences.browser_settings
    consent = p.consent("cookies_browser_settings")
    assert consent is not None
    assert consent.mechanism is ConsentMechanism.browser_settings
    for item in p.cookies.items:
        assert item.purpose is not None
        assert p.purpose(item.purpose) is not None


def test_pl_14_policy_changes_without_prior_notice() -> None:
    changes = policy(PLUS).policy.changes
    assert "PL-14" in changes.promises
    assert changes.notice is ChangeNotice.no_notice
    assert changes.notice_period is None


def test_pl_15_contact_and_dpo_as_published_placeholders() -> None:
    org = policy(PLUS).organisation
    assert "PL-15" in org.promises
    assert org.contact is not None
    assert org.contact.email == NBSP_PLACEHOLDER
    assert "PL-15" in org.contact.promises
    assert [d.email for d in org.dpo] == [NBSP_PLACEHOLDER, NBSP_PLACEHOLDER]
    assert all("PL-15" in d.promises and "email" in d.assumptions for d in org.dpo)
    assert published(PLUS).count(NBSP_PLACEHOLDER) == 3
    assert "@" not in published(PLUS)  # no real address is recoverable from the text


def test_plus_jurisdiction_is_an_assumption() -> None:
    p = policy(PLUS)
    assert [j.value for j in p.jurisdictions] == ["pdpa_th"]
    assert "jurisdictions" in p.policy.assumptions

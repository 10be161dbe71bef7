"""``diff_policies`` and ``troth diff``: what changed between two policy versions, in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from render_helpers import FIXTURE, fixture_data, modified, write_policy
from troth.cli import main
from troth.policy.loader import PolicyDocument, load_policy
from troth.policy.render import Change, diff_policies


@pytest.fixture(scope="module")
def base() -> PolicyDocument:
    return load_policy(FIXTURE)


def _texts(changes: list[Change]) -> list[str]:
    return [c.text for c in changes]


def _one(changes: list[Change], section: str, element: str) -> Change:
    found = [c for c in changes if c.section == section and c.element == element]
    assert len(found) == 1, changes
    return found[0]


def test_same_policy_has_no_changes(base: PolicyDocument) -> None:
    assert diff_policies(base, base) == []
    assert diff_policies(base, load_policy(FIXTURE)) == []


def test_version_change(base: PolicyDocument) -> None:
    new = modified(lambda d: d["policy"].update(version="2.2"))
    assert _texts(diff_policies(base, new)) == ["Policy version changed from 2.1 to 2.2."]


def test_legal_basis_change(base: PolicyDocument) -> None:
    def change(d: dict[str, Any]) -> None:
        d["purposes"][2]["legal_basis"] = "consent"
        d["purposes"][2]["consents"] = ["newsletter"]

    c = diff_policies(base, modified(change))
    assert "Purpose 'fraud_prevention' now relies on consent instead of legitimate interest." in (
        _texts(c)
    )
    assert {x.kind for x in c} == {"changed"}


def test_purpose_added_and_removed(base: PolicyDocument) -> None:
    def change(d: dict[str, Any]) -> None:
        d["purposes"].pop(3)
        d["purposes"].append(
            {
                "id": "reviews",
                "name": "Book reviews",
                "use": "functional.service",
                "legal_basis": "contract",
                "categories": ["user.name"],
            }
        )

    c = diff_policies(base, modified(change))
    assert _one(c, "purposes", "tax_records").text == "Purpose 'tax_records' was removed."
    added = _one(c, "purposes", "reviews")
    assert added.kind == "added"
    assert added.text == (
        "New purpose 'reviews' (Book reviews) relies on performance of a contract and uses: Name."
    )


def test_recipient_added_removed_and_changed(base: PolicyDocument) -> None:
    def change(d: dict[str, Any]) -> None:
        d["recipients"][0]["categories"] = ["user.contact.address"]
        d["recipients"].pop(1)
        d["recipients"].append(
            {
                "id": "printer",
                "name": "Print shop",
                "type": "processor",
                "categories": ["user.contact.address"],
            }
        )

    c = diff_policies(base, modified(change))
    assert _one(c, "recipients", "printer").text == (
        "New recipient 'Print shop' (processor) receives: user contact address."
    )
    assert _one(c, "recipients", "authorities").kind == "removed"
    assert _one(c, "recipients", "courier").text == (
        "Recipient 'Courier services' now receives: user contact address "
        "(before: name, user contact address)."
    )


def test_retention_period_change(base: PolicyDocument) -> None:
    def change(d: dict[str, Any]) -> None:
        d["retention"][1].update(period="1 year", trigger="last_activity")
        d["retention"][0]["period"] = "unspecified"

    c = diff_policies(base, modified(change))
    assert _one(c, "retention", "newsletter_list").text == (
        "Retention of newsletter list changed from 30 days after consent is withdrawn "
        "to 1 year after last activity."
    )
    assert _one(c, "retention", "order_records").text == (
        "Retention of order records changed from 2 years after the purpose is fulfilled "
        "to not stated."
    )


def test_legal_hold_removed(base: PolicyDocument) -> None:
    new = modified(lambda d: d["retention"][0].update(legal_holds=[]))
    assert _texts(diff_policies(base, new)) == [
        "Retention rule 'Order records': legal hold 'tax_hold' was removed."
    ]
    assert _texts(diff_policies(new, base)) == [
        "Retention rule 'Order records': new legal hold 'tax_hold' keeps data 10 years "
        "under Example Tax Code § 147."
    ]


def test_consent_changes(base: PolicyDocument) -> None:
    new = modified(lambda d: d["consents"][0]["notice"].update(version="4"))
    assert _texts(diff_policies(base, new)) == [
        "Consent 'newsletter' notice changed from version 3 to version 4."
    ]
    new = modified(lambda d: d["consents"][0].update(mechanism="opt_in"))
    assert _texts(diff_policies(base, new)) == [
        "Consent 'newsletter': mechanism changed from double opt in to opt in."
    ]

    def drop(d: dict[str, Any]) -> None:
        d["consents"] = []
        d["purposes"][1]["consents"] = []

    c = diff_policies(base, modified(drop))
    assert _one(c, "consents", "newsletter").kind == "removed"


def test_promises_assumptions_cookies_and_rights(base: PolicyDocument) -> None:
    def change(d: dict[str, Any]) -> None:
        d["commitments"][0]["promises"] = []
        d["retention"][2]["period"] = "90 days"
        d["retention"][2]["assumptions"] = {}
        d["cookies"]["items"].pop(1)
        d["rights"].append({"right": "portability", "channel": "e-mail"})

    t = _texts(diff_policies(base, modified(change)))
    assert "Commitment 'no_sale' no longer encodes promise LB-5." in t
    assert (
        "Retention rule 'Server logs': 'period' is now stated by the policy (no longer assumed)."
        in t
    )
    assert "Cookie '_lb_stats' was removed." in t
    assert "New right: receive your data in a portable format (e-mail)." in t


def test_changelog_and_contact_changes(base: PolicyDocument) -> None:
    def change(d: dict[str, Any]) -> None:
        d["policy"]["changelog"].insert(
            0, {"version": "2.2", "date": "2026-03-01", "changes": ["New courier."]}
        )
        d["organisation"]["contact"]["email"] = "help@example.com"

    t = _texts(diff_policies(base, modified(change)))
    assert "Changelog entry for version 2.2: New courier." in t
    assert any(x.startswith("Organisation: contact changed") and "help@example.com" in x for x in t)


# --- property: any change is reported, no change reports nothing ---------------------------------

_TEXT = st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=20)
_MUTATIONS = [
    ("purposes", "name"),
    ("purposes", "description"),
    ("recipients", "country"),
    ("recipients", "description"),
    ("security", "description"),
    ("commitments", "text"),
    ("collection_points", "name"),
    ("consents", "withdrawal"),
    ("restricted_sources", "provider"),
]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(_MUTATIONS), index=st.integers(0, 3), value=_TEXT)
def test_any_field_change_is_reported(
    base: PolicyDocument, which: tuple[str, str], index: int, value: str
) -> None:
    section, field = which
    policy = base.policy.model_copy(deep=True)
    items = getattr(policy, section)
    element = items[index % len(items)]
    if getattr(element, field) == value:
        return
    setattr(element, field, value)
    new = PolicyDocument(policy=policy, source=base.source, taxonomy=base.taxonomy, path=base.path)
    assert diff_policies(base, base) == []
    changes = diff_policies(base, new)
    assert changes
    assert all(c.section == section and c.kind == "changed" for c in changes)
    assert all(c.text.endswith((".", value)) or value in c.text for c in changes)


# --- the CLI --------------------------------------------------------------------------------------


def _pair(tmp_path: Path) -> tuple[str, str]:
    old = write_policy(tmp_path / "v1", fixture_data())
    data = fixture_data()
    data["policy"]["version"] = "2.2"
    data["purposes"][1]["legal_basis"] = "legitimate_interest"
    new = write_policy(tmp_path / "v2", data)
    return str(old), str(new.parent)


def test_cli_diff_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _pair(tmp_path)
    assert main(["diff", old, new]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "~ policy/version: Policy version changed from 2.1 to 2.2." in out
    assert (
        "~ purposes/marketing_email: Purpose 'marketing_email' now relies on legitimate "
        "interest instead of consent." in out
    )


def test_cli_diff_markdown_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _pair(tmp_path)
    assert main(["diff", old, new, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## Changes from version 2.1 to 2.2")
    assert "### Changed" in md
    assert main(["diff", old, new, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["old"] == "2.1"
    assert data["new"] == "2.2"
    assert {"kind", "section", "element", "text"} <= set(data["changes"][0])


def test_cli_diff_no_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(FIXTURE), str(FIXTURE)]) == 0
    assert capsys.readouterr().out == "No changes between version 2.1 and 2.1.\n"

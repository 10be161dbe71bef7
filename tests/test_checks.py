"""Each built-in check: silent on the clean fixture, and fires (located) on a targeted mutation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from troth.errors import UnknownNameError
from troth.policy.checks import CHECKS, Severity, run_checks
from troth.policy.loader import load_policy

FIXTURE = Path(__file__).parent / "fixtures" / "policy_clean.yaml"
CLEAN: dict[str, Any] = yaml.safe_load(FIXTURE.read_text())

Mutation = Callable[[dict[str, Any]], None]


def _purpose(d: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(p for p in d["purposes"] if p["id"] == pid)


def _recipient(d: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(r for r in d["recipients"] if r["id"] == rid)


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    # check id: (mutation, the field path the finding must point at)
    "purpose.no-legal-basis": (
        lambda d: _purpose(d, "order_delivery").pop("legal_basis"),
        "purposes[0]",
    ),
    "purpose.consent-missing": (
        lambda d: (
            d["consents"][0]["purposes"].remove("newsletter")
            or d["consents"][0]["purposes"].append("order_delivery")
        ),
        "purposes[1].legal_basis",
    ),
    "marketing.no-consent": (
        lambda d: _purpose(d, "newsletter").update(legal_basis="legitimate_interest", consents=[]),
        "purposes[1].legal_basis",
    ),
    "consent.implied": (
        lambda d: d["consents"][0].update(mechanism="implied_by_use"),
        "consents[0].mechanism",
    ),
    "consent.default-on": (lambda d: d["consents"][0].update(default=True), "consents[0].default"),
    "consent.no-withdrawal": (lambda d: d["consents"][0].pop("withdrawal"), "consents[0]"),
    "consent.for-essential-use": (
        lambda d: (
            _purpose(d, "order_delivery").update(
                legal_basis="consent", consents=["newsletter_optin"]
            )
            or d["consents"][0]["purposes"].append("order_delivery")
        ),
        "purposes[0].legal_basis",
    ),
    "purpose.no-categories": (
        lambda d: _purpose(d, "newsletter").update(categories=[]),
        "purposes[1]",
    ),
    "purpose.uncollected-category": (
        lambda d: _purpose(d, "newsletter")["categories"].append("user.contact.phone_number"),
        "purposes[1].categories[2]",
    ),
    "category.unused": (
        lambda d: (
            d["data_categories"].append({"key": "user.demographic.gender"})
            or d["retention"][0]["categories"].append("user.demographic")
        ),
        "data_categories[4]",
    ),
    "recipient.uncollected-category": (
        lambda d: _recipient(d, "courier")["categories"].append("user.contact.phone_number"),
        "recipients[0].categories[2]",
    ),
    "sharing.contradiction": (
        lambda d: _recipient(d, "courier").update(type="third_party"),
        "recipients[0].type",
    ),
    "recipient.authority-no-legal-request": (
        lambda d: _recipient(d, "authorities").update(legal_request_required=False),
        "recipients[1].legal_request_required",
    ),
    "transfer.no-safeguard": (
        lambda d: _recipient(d, "courier").update(country="India"),
        "recipients[0].country",
    ),
    "processor.no-dpa": (lambda d: _recipient(d, "courier").pop("dpa"), "recipients[0]"),
    "processor.dpa-expired": (
        lambda d: _recipient(d, "courier")["dpa"].update(expires="2020-01-01"),
        "recipients[0].dpa.expires",
    ),
    "dpia.missing": (
        lambda d: _purpose(d, "newsletter").update(
            use="marketing.advertising.profiling", risk=["large_scale"]
        ),
        "purposes[1]",
    ),
    "recipient.no-categories": (
        lambda d: _recipient(d, "courier").update(categories=[]),
        "recipients[0]",
    ),
    "restricted.forbidden-purpose": (
        lambda d: d["restricted_sources"][0]["allowed_purposes"].append("newsletter"),
        "restricted_sources[0].allowed_purposes",
    ),
    "restricted.stored": (
        lambda d: d["restricted_sources"][0].update(storage="durable"),
        "restricted_sources[0].storage",
    ),
    "retention.missing": (
        lambda d: d["retention"][0]["categories"].remove("user.contact"),
        "data_categories[1]",
    ),
    "retention.no-period": (
        lambda d: d["retention"][0].update(period="unspecified"),
        "retention[0].period",
    ),
    "retention.hold-no-law": (
        lambda d: d["retention"][0]["legal_holds"][0].pop("law"),
        "retention[0].legal_holds[0]",
    ),
    "retention.hold-outside-rule": (
        lambda d: d["retention"][0]["legal_holds"][0]["categories"].append(
            "user.demographic.gender"
        ),
        "retention[0].legal_holds[0].categories[1]",
    ),
    "org.no-contact": (
        lambda d: d["organisation"].pop("contact") and d["organisation"].pop("dpo"),
        "organisation",
    ),
    "org.no-dpo": (lambda d: d["organisation"].pop("dpo"), "organisation"),
    "org.no-address": (lambda d: d["organisation"].pop("address"), "organisation"),
    "org.contact-invalid": (
        lambda d: d["organisation"]["dpo"][0].update(email="[email protected]"),
        "organisation.dpo[0].email",
    ),
    "jurisdiction.none": (lambda d: d.update(jurisdictions=[]), "policy"),
    "rights.missing": (lambda d: d.update(rights=d["rights"][:2]), "policy"),
    "cookies.without-consent": (
        lambda d: d["cookies"].update(
            preferences="browser_settings",
            items=[{"id": "ga", "name": "_ga", "category": "analytics", "lifetime": "2 years"}],
        ),
        "cookies.preferences",
    ),
    "cookies.undeclared": (lambda d: d["cookies"].update(items=[]), "cookies"),
    "changes.no-notice": (
        lambda d: d["policy"]["changes"].update(notice="no_notice"),
        "policy.changes.notice",
    ),
    "ref.dangling": (
        lambda d: d["consents"][0].update(channel="preference_centre"),
        "consents[0].channel",
    ),
    "ref.consent-mismatch": (
        lambda d: _purpose(d, "order_delivery").update(consents=["newsletter_optin"]),
        "purposes[0].consents",
    ),
    "promise.unencoded": (
        lambda d: d["promises"].append({"id": "EX-9", "text": "Unkept."}),
        "promises[3]",
    ),
    "promise.undeclared": (
        lambda d: _purpose(d, "newsletter")["promises"].append("EX-7"),
        "purposes[1].promises[1]",
    ),
    "encoding.assumption": (
        lambda d: _purpose(d, "order_delivery").update(
            assumptions={"legal_basis": "the text names no basis"}
        ),
        "purposes[0]",
    ),
}


def _load(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_policy(path)


def test_clean_fixture_has_no_findings() -> None:
    report = run_checks(load_policy(FIXTURE))
    assert report.findings == []
    assert report.checks_run == len(CHECKS.names())  # map checks run too, and find nothing


def test_every_policy_check_has_a_mutation_test() -> None:
    # map checks: tests/datamap; map-aware retention checks: tests/retention/test_cli_retention.py
    map_aware = {
        "retention.unbound",
        "retention.no-timestamp",
        "retention.timestamp-not-a-timestamp",
        "retention.condition",
        "retention.delete-cycle",
        "retention.hold-ends",
        "retention.kept-parents",
    }
    policy_checks = {c for c in CHECKS.names() if not c.startswith("map.") and c not in map_aware}
    assert policy_checks == set(MUTATIONS)


@pytest.mark.parametrize("check_id", sorted(MUTATIONS))
def test_check_fires_on_mutation(check_id: str, tmp_path: Path) -> None:
    mutate, field = MUTATIONS[check_id]
    data = copy.deepcopy(CLEAN)
    mutate(data)
    doc = _load(tmp_path, data)
    report = run_checks(doc)
    hits = [f for f in report.findings if f.check == check_id]
    assert hits, f"{check_id} did not fire; got {[f.check for f in report.findings]}"
    hit = hits[0]
    assert hit.severity is CHECKS.get(check_id).severity
    assert hit.field is not None
    assert hit.field.startswith(field), hit.field
    # the location is a real line of the file and names it
    file, line, col = hit.where.rsplit(":", 2)
    assert file.endswith("policy.yaml")
    assert int(line) >= 1
    assert int(col) >= 1
    assert hit.message
    assert hit.fix


def test_finding_points_at_the_offending_line(tmp_path: Path) -> None:
    data = copy.deepcopy(CLEAN)
    _recipient(data, "authorities")["legal_request_required"] = False
    doc = _load(tmp_path, data)
    [hit] = [
        f for f in run_checks(doc).findings if f.check == "recipient.authority-no-legal-request"
    ]
    line = int(hit.where.rsplit(":", 2)[1])
    text = (tmp_path / "policy.yaml").read_text().splitlines()[line - 1]
    assert "legal_request_required: false" in text


def test_select_and_ignore(tmp_path: Path) -> None:
    data = copy.deepcopy(CLEAN)
    data["organisation"].pop("dpo")
    data["organisation"].pop("address")
    doc = _load(tmp_path, data)
    only = run_checks(doc, select=["org.no-dpo"])
    assert [f.check for f in only.findings] == ["org.no-dpo"]
    assert only.checks_run == 1
    skipped = run_checks(doc, ignore=["org.no-dpo"])
    assert [f.check for f in skipped.findings] == ["org.no-address"]


def test_unknown_check_id_lists_valid_ones() -> None:
    doc = load_policy(FIXTURE)
    with pytest.raises(UnknownNameError) as err:
        run_checks(doc, select=["org.no-dpoo"])
    assert "did you mean 'org.no-dpo'" in str(err.value)
    assert "org.no-address" in str(err.value)


def test_findings_sorted_errors_first(tmp_path: Path) -> None:
    data = copy.deepcopy(CLEAN)
    data["organisation"].pop("address")
    _purpose(data, "order_delivery").pop("legal_basis")
    report = run_checks(_load(tmp_path, data))
    ranks = [f.severity.rank for f in report.findings]
    assert ranks == sorted(ranks)
    assert report.findings[0].severity is Severity.error


def test_restricted_category_in_unallowed_purpose(tmp_path: Path) -> None:
    data = copy.deepcopy(CLEAN)
    data["data_categories"].append({"key": "user.content.private"})
    _purpose(data, "newsletter")["categories"].append("user.content.private")
    report = run_checks(_load(tmp_path, data))
    hits = [f for f in report.findings if f.check == "restricted.forbidden-purpose"]
    assert any("newsletter" in f.message and "marketing" in f.message for f in hits)
    # restricted data that is never stored needs no retention rule
    assert not [f for f in report.findings if f.check == "retention.missing"]


def _loaded(tmp_path: Path, mutate: Mutation) -> Any:
    data = copy.deepcopy(CLEAN)
    mutate(data)
    return _load(tmp_path, data)


@pytest.mark.parametrize(
    ("country", "transfer", "fires"),
    [
        ("DE", None, False),  # inside the EEA
        ("Norway", None, False),  # EEA by name
        ("US", None, True),  # third country, nothing declared
        ("US", "sccs", False),
        ("Japan", "adequacy", False),
        ("India", "adequacy", True),  # no adequacy decision
        ("IN", "bcrs", False),
    ],
)
def test_transfers_need_a_safeguard(
    tmp_path: Path, country: str, transfer: str | None, fires: bool
) -> None:
    def mutate(d: dict[str, Any]) -> None:
        _recipient(d, "courier").update(country=country, transfer=transfer)

    report = run_checks(_loaded(tmp_path, mutate), select=["transfer.no-safeguard"])
    assert bool(report.findings) is fires


def test_transfers_are_not_checked_without_gdpr(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["jurisdictions"] = ["ccpa"]
        _recipient(d, "courier").update(country="India")

    assert run_checks(_loaded(tmp_path, mutate), select=["transfer.no-safeguard"]).findings == []


@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        ({"risk": ["large_scale"]}, False),  # one criterion
        ({"risk": ["large_scale", "matching_datasets"]}, True),  # two
        ({"categories": ["user.name", "user.health_and_medical"], "risk": ["large_scale"]}, True),
        ({"subjects": ["employee"], "risk": ["systematic_monitoring"]}, True),
        (
            {
                "risk": ["large_scale", "matching_datasets"],
                "dpia": {"date": "2024-02-01", "reference": "DPIA-7"},
            },
            False,
        ),
    ],
)
def test_dpia_when_the_criteria_say_so(
    tmp_path: Path, changes: dict[str, Any], fires: bool
) -> None:
    def mutate(d: dict[str, Any]) -> None:
        p = _purpose(d, "newsletter")
        if "user.health_and_medical" in changes.get("categories", []):
            d["data_categories"].append({"key": "user.health_and_medical"})
        p.update(changes)

    report = run_checks(_loaded(tmp_path, mutate), select=["dpia.missing"])
    assert bool(report.findings) is fires

"""`troth check` on the faithful seed encodings reports the seeds' real gaps (expected results)."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.cli import main
from troth.policy import load_policy
from troth.policy.checks import Report, Severity, run_checks

EXAMPLES = Path(__file__).parent.parent / "examples"


def _report(name: str) -> Report:
    return run_checks(load_policy(EXAMPLES / name))


def _errors(report: Report) -> list[tuple[str, str]]:
    return sorted((f.check, f.message) for f in report.findings if f.severity is Severity.error)


def _has(report: Report, check: str, *words: str) -> bool:
    return any(f.check == check and all(w in f.message for w in words) for f in report.findings)


# --- seed 000, MyDigiSoft -----------------------------------------------------------------------

MD_ERRORS = [
    ("org.no-contact", "MyDigiSoft"),  # no e-mail, phone, address or DPO anywhere in the text
    ("retention.missing", "user.authorization.licence_credentials"),
    ("retention.missing", "user.contact.address.country"),
    ("retention.missing", "user.content.private.support_query"),
]


def test_md_seed_errors_are_exactly_the_gaps_of_the_text() -> None:
    report = _report("mydigisoft")
    errors = _errors(report)
    assert len(errors) == len(MD_ERRORS), errors
    for check, word in MD_ERRORS:
        assert _has(report, check, word), (check, word)


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("org.no-dpo", ()),
        ("org.no-address", ()),
        ("jurisdiction.none", ()),
        ("rights.missing", ("access", "erasure")),
        ("retention.no-period", ("contact_and_purchase_history",)),  # MD-5: no period stated
    ],
)
def test_md_seed_warnings(check: str, words: tuple[str, ...]) -> None:
    assert _has(_report("mydigisoft"), check, *words)


def test_md_3_7_12_marketing_sharing_and_google_data_pass() -> None:
    """What the seed does promise well must not be reported: marketing only with consent (MD-3),
    no third-party sharing (MD-7), Google data never stored nor used for ads (MD-12, MD-13)."""
    report = _report("mydigisoft")
    bad = {"marketing.no-consent", "sharing.contradiction", "restricted.stored"}
    bad |= {"restricted.forbidden-purpose", "purpose.consent-missing"}
    assert not [f for f in report.findings if f.check in bad]


def test_md_assumptions_are_reported_as_notes() -> None:
    report = _report("mydigisoft")
    notes = [f for f in report.findings if f.check == "encoding.assumption"]
    assert any("legal_basis" in f.message for f in notes)
    assert all(f.severity is Severity.info for f in notes)


# --- seed 004, AUTODIGI Plus --------------------------------------------------------------------

PL_ERRORS = [
    ("recipient.uncollected-category", "courier_service", "user.contact.address"),  # PL-8
    ("purpose.uncollected-category", "courier_delivery", "user.contact.address"),
    ("consent.implied", "platform_use"),  # "By using our platform, you consent"
    ("consent.default-on", "platform_use"),
    ("consent.implied", "cookies_browser_settings"),  # PL-13 "through your browser settings"
    ("consent.default-on", "cookies_browser_settings"),
    ("cookies.without-consent", "browser_settings"),
    ("org.contact-invalid", "contact e-mail"),  # "[email protected]" as published
    ("org.contact-invalid", "DPO e-mail"),
]


def test_pl_seed_errors_are_exactly_the_gaps_of_the_text() -> None:
    report = _report("plus")
    for check, *words in PL_ERRORS:
        assert _has(report, check, *words), (check, words)
    assert len(_errors(report)) == 10  # the DPO has two unusable addresses


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("changes.no-notice", ("without notice",)),  # PL-14 "without prior notice"
        ("retention.no-period", ("account_data",)),  # PL-11: no period per type of data
        ("retention.hold-no-law", ()),  # "required or permitted by law", no law named
        ("consent.for-essential-use", ()),
        ("consent.no-withdrawal", ("platform_use",)),
        ("cookies.undeclared", ()),
        ("rights.missing", ("access",)),  # only deletion via the DPO (PL-12)
    ],
)
def test_pl_seed_warnings(check: str, words: tuple[str, ...]) -> None:
    assert _has(_report("plus"), check, *words)


def test_pl_9_authorities_only_on_legal_request_passes() -> None:
    assert not _has(_report("plus"), "recipient.authority-no-legal-request")


@pytest.mark.parametrize("name", ["mydigisoft", "plus"])
def test_cli_reports_seed_gaps_and_fails(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / name)]) == 1
    out = capsys.readouterr().out
    assert f"examples/{name}/policy.yaml:" in out
    assert "error" in out


# --- the example data maps against their policies -------------------------------------------------


def _map_findings(name: str) -> list[tuple[str, str]]:
    from troth.datamap.loader import load_datamap

    doc = load_policy(EXAMPLES / name)
    dm = load_datamap(EXAMPLES / name / "datamap.yaml", doc.taxonomy, check_categories=False)
    report = run_checks(doc, datamap=dm)
    return [(f.check, f.message) for f in report.findings if f.check.startswith("map.")]


def test_pl_8_delivery_addresses_stored_but_never_declared() -> None:
    findings = _map_findings("plus")
    fields = sorted(m.split(" ")[0] for c, m in findings if c == "map.uncollected-category")
    assert fields == [
        "plus.crm_contacts.city",
        "plus.crm_contacts.country",
        "plus.crm_contacts.street",
        "plus.crm_contacts.zip",
    ]
    # and the assumed retention (last activity) cannot be read for the CRM contacts, whose only
    # timestamp is their creation: reported, not hidden
    (stamp,) = [m for c, m in findings if c == "map.no-retention-timestamp"]
    assert stamp.startswith("table plus.crm_contacts holds data under retention rule")
    assert len(findings) == 5


def test_md_6_country_derived_from_an_undeclared_ip_address() -> None:
    findings = _map_findings("mydigisoft")
    assert findings == [
        (
            "map.uncollected-category",
            "shop.trade_compliance_checks.ip_address holds 'user.device.ip_address' (IP Address), "
            "which the policy never says it collects",
        )
    ]

"""The Art. 15(1) information of the access copy, drawn from the two example policies."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from troth.datamap.graph import TableId
from troth.dsr.export import ZipExport
from troth.project import load_project

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PARTS = ["controller", "purposes", "categories", "recipients", "retention", "sources",
         "automated", "rights"]  # fmt: skip
RIGHTS = ["Access your data", "Have your data corrected", "Have your data erased",
          "Restrict processing", "Object to processing",
          "Receive your data in a portable format"]  # fmt: skip


def _export(example: str, rows: dict[str, list[dict[str, Any]]], tmp_path: Path) -> dict[str, Any]:
    project = load_project(EXAMPLES / example)
    assert project.datamap is not None
    dataset = next(project.datamap.datamap.datasets()).name
    export = ZipExport(
        tmp_path / "copy.zip",
        request_id="req-1",
        policy=project.policy.policy,
        datamap=project.datamap.datamap,
        types={},
        spool_root=tmp_path / "spool",
    )
    for table, table_rows in rows.items():
        for row in table_rows:
            export.add(TableId(dataset, table), row)
    with zipfile.ZipFile(export.finish()) as zf:
        summary = zf.read("summary.html").decode()
        manifest = json.loads(zf.read("manifest.json"))
    return {"summary": summary, "manifest": manifest}


@pytest.fixture
def mydigisoft(tmp_path: Path) -> dict[str, Any]:
    return _export(
        "mydigisoft",
        {
            "customers": [{"id": 7, "first_name": "Zoë", "email": "customer7@example.com"}],
            "orders": [{"id": 1, "customer_id": 7, "total": "3.98"}],
            "support_tickets": [{"id": 3, "customer_id": 7, "subject": "Licence"}],
        },
        tmp_path,
    )


@pytest.fixture
def plus(tmp_path: Path) -> dict[str, Any]:
    return _export(
        "plus",
        {
            "accounts": [{"id": 1, "email": "owner1@example.com", "display_name": "Owner"}],
            "crm_contacts": [{"id": 4, "account_id": 1, "city": "Bangkok"}],
        },
        tmp_path,
    )


def test_every_part_is_present_in_the_page_and_the_manifest(
    mydigisoft: dict[str, Any], plus: dict[str, Any]
) -> None:
    for copy in (mydigisoft, plus):
        assert [p["id"] for p in copy["manifest"]["information"]] == PARTS
        for part in PARTS:
            assert f'<section aria-labelledby="{part}">' in copy["summary"]


def test_md_purposes_categories_retention_and_sources(mydigisoft: dict[str, Any]) -> None:
    page = mydigisoft["summary"]
    # Art. 15(1)(a): purposes with their legal bases
    assert "Complete online orders and deliver licence credentials" in page
    assert "performance of a contract (GDPR Art. 6(1)(b))" in page
    assert "Marketing e-mail (new features" in page
    # (b): the taxonomy names of the map's categories of the exported tables
    assert "Support query" in page
    assert "Purchase History" in page
    assert "Licence credentials</strong>" not in page  # licences were not exported
    # (c): no recipient, and the no-sharing promise (MD-7)
    assert "The policy names no recipient of this data." in page
    assert "We do not share or disclose user information with third-party sites" in page
    # (d): no period stated, so the criterion; the map's legal holds on the exported tables
    assert "Contact data and purchase history" in page
    assert "The policy states no period. The criterion: deleted after last activity" in page
    assert "invoices are kept for tax law" in page
    assert "country kept to prove export-control screening" in page
    # (g): the country is observed, not given by the person
    assert "Determination of the user&#39;s country</strong>: We observe it" in page


def test_md_rights_complaint_and_contact(mydigisoft: dict[str, Any]) -> None:
    page = mydigisoft["summary"]
    for right in RIGHTS:
        assert f"<strong>{right}</strong>: You have this right; the policy names no way" in page
    assert "Withdraw your consent</strong>: How: Notification desk" in page
    assert "lodge a complaint with a supervisory authority" in page
    assert "Data Protection Officer</strong>: The policy names none." in page


def test_pl_recipients_sources_rights_and_dpo(plus: dict[str, Any]) -> None:
    page = plus["summary"]
    assert "AUTODIGI CO., LTD." in page
    assert "Data Protection Officer</strong>: DPO, [email\u00a0protected]" in page
    # recipients: the courier gets addresses (crm_contacts holds one), authorities only on request
    assert "Courier service (processor)" in page
    assert "Law enforcement agencies or regulatory bodies (authority)" in page
    assert "Only when a valid legal request requires it." in page
    # a source that is not the person (Art. 15(1)(g))
    assert "Plus CRM customer records</strong>: A third party gave it to us." in page
    # retention: no period, the criterion and the holds the policy names
    assert "Account Information" in page
    assert "deleted after the purpose is fulfilled" in page
    assert "a longer retention period is required by law" in page
    # the erasure channel the policy names (PL-12); the others fall back to the DPO
    assert "Have your data erased</strong>: How: e-mail to the DPO" in page
    assert "Restrict processing</strong>: You have this right" in page
    assert "write to our Data Protection Officer" in page
    assert "Thailand&#39;s PDPA" in page


def test_only_the_processing_of_the_exported_data_is_listed(plus: dict[str, Any]) -> None:
    page = plus["summary"]
    assert "Provide and maintain the chat management, CRM and ads management services" in page
    # cookies and usage patterns: not among the categories of the exported tables
    assert "Collect information about interactions with the platform" not in page

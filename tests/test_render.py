"""The readable policy (Markdown, HTML) and the Art. 30 record rendered from the policy model."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from render_helpers import FIXTURE, fixture_data, modified, parse_html, policy_from
from troth.policy.loader import PolicyDocument, load_policy
from troth.policy.model import Recipient, RecipientType
from troth.policy.render import (
    record_rows,
    render_html,
    render_markdown,
    render_record_csv,
    render_record_html,
)
from troth.policy.render.sections import build_document

SECTION_TITLES = [
    "Who we are and how to contact us",
    "What personal data we collect",
    "Where we collect it from",
    "Why we use it and on which legal basis",
    "Your consent and how to withdraw it",
    "Who receives your data",
    "How long we keep it",
    "Cookies and similar technologies",
    "Data from other services",
    "What we never do",
    "How we protect your data",
    "Your rights",
    "Changes to this policy",
    "Promises in this policy",
]


@pytest.fixture(scope="module")
def doc() -> PolicyDocument:
    return load_policy(FIXTURE)


def _encoded_ids(doc: PolicyDocument) -> set[str]:
    return {p for el in doc.policy.all_elements() for p in el.promises}


def _all_assumptions(doc: PolicyDocument) -> list[str]:
    return [why for el in doc.policy.all_elements() for why in el.assumptions.values()]


def test_fixture_exercises_every_section(doc: PolicyDocument) -> None:
    p = doc.policy
    assert any(x.legal_basis and x.legal_basis.value == "consent" for x in p.purposes)
    assert any(r.period is None for r in p.retention)
    assert any(r.legal_holds for r in p.retention)
    assert {r.type for r in p.recipients} >= {RecipientType.processor, RecipientType.authority}
    assert p.cookies
    assert p.cookies.items
    assert p.restricted_sources
    assert p.commitments
    assert p.security
    assert p.rights
    assert p.consents
    assert _all_assumptions(doc)


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_every_section_is_rendered(doc: PolicyDocument, render: Any) -> None:
    text = render(doc)
    for title in SECTION_TITLES:
        assert title in text


def test_markdown_marks_each_encoded_promise_next_to_its_text(doc: PolicyDocument) -> None:
    body, appendix = render_markdown(doc).split("## Promises in this policy")
    for pid in _encoded_ids(doc):
        assert f"[{pid}]" in body, pid
    for promise in doc.policy.promises:
        assert f"**{promise.id}**: {promise.text}" in appendix
    # a promise sits on the line of the element that encodes it
    assert re.search(r"Courier services \(processor\).*\[LB-7\]", body)
    assert re.search(r"never sell your personal data\. \[LB-5\]", body)


def test_promise_appendix_says_where_each_promise_is_encoded(doc: PolicyDocument) -> None:
    d = build_document(doc)
    where = {e.id: [s.title for s in e.locations] for e in d.promises}
    assert [e.id for e in d.promises] == [p.id for p in doc.policy.promises]
    assert where["LB-7"] == ["Who receives your data"]
    assert "How long we keep it" in where["LB-6"]
    assert where["LB-13"] == []  # declared, encoded by no element: said so, not hidden
    md = render_markdown(doc)
    assert "- **LB-13**: We answer every request within one month.\n  - Encoded in: not" in md
    assert "“We never sell your personal data.”" in md  # the published quote


def test_promise_referenced_but_not_declared_is_listed() -> None:
    d = modified(lambda x: x["commitments"][0]["promises"].append("LB-99"))
    md = render_markdown(d)
    assert "**LB-99**" in md
    assert "referenced but not declared" in md


def test_html_states_every_promise_with_links(doc: PolicyDocument) -> None:
    html = render_html(doc)
    s = parse_html(html)
    for promise in doc.policy.promises:
        assert f"promise-{promise.id}" in s.ids
    for pid in _encoded_ids(doc):
        assert f'href="#promise-{pid}"' in html
    for href in s.hrefs:
        if href.startswith("#"):
            assert href[1:] in s.ids, href


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_assumptions_are_labelled_not_stated(doc: PolicyDocument, render: Any) -> None:
    text = render(doc)
    label = "Not stated in the published policy"
    for why in _all_assumptions(doc):
        escaped = why.replace('"', "&#34;") if render is render_html else why
        line = next(ln for ln in text.splitlines() if escaped in ln)
        assert label in line, line


def test_unspecified_period_and_legal_hold_are_honest(doc: PolicyDocument) -> None:
    md = render_markdown(doc)
    logs = next(ln for ln in md.splitlines() if ln.startswith("| Server logs"))
    assert "not stated" in logs
    orders = next(ln for ln in md.splitlines() if ln.startswith("| Order records |"))
    assert "10 years under Example Tax Code § 147" in orders


def test_consent_notice_withdrawal_and_limited_use(doc: PolicyDocument) -> None:
    md = render_markdown(doc)
    assert "notice version 3" in md
    assert "How to withdraw: Use the unsubscribe link" in md
    assert "consent (GDPR Art. 6(1)(a))" in md
    assert "Limited Use" in md
    assert "We do not store this data." in md


def test_categories_are_grouped(doc: PolicyDocument) -> None:
    md = render_markdown(doc)
    for group in ("### Identity", "### Contact details", "### Purchases", "### Technical data"):
        assert group in md
    contact = md.split("### Contact details")[1].split("###")[0]
    assert "User Contact Email" in contact
    assert "User Contact Address" in contact


def test_html_is_standalone_and_accessible(doc: PolicyDocument) -> None:
    for html in (render_html(doc), render_record_html(doc)):
        s = parse_html(html)
        names = [t for t, _ in s.tags]
        html_attrs = dict(s.tags)["html"]
        assert html_attrs.get("lang") == "en"
        assert names.count("h1") == 1
        assert s.headings[0] == 1
        assert all(b - a <= 1 for a, b in zip(s.headings, s.headings[1:], strict=False))
        assert names.count("main") == 1
        skip = next(a for t, a in s.tags if t == "a")
        assert skip.get("href") == "#main"
        assert "main" in s.ids
        assert "script" not in names
        assert "link" not in names
        assert "img" not in names
        assert "http" not in "".join(str(a.get("src", "")) for _, a in s.tags)
        assert s.tables
        for t in s.tables:
            assert t["caption"], t
            assert t["th"], t
            assert all(scope in {"col", "row"} for scope in t["th"])


def test_html_toc_is_a_nav_landmark_whose_targets_exist(doc: PolicyDocument) -> None:
    s = parse_html(render_html(doc))
    assert any(t == "nav" and a.get("aria-label") for t, a in s.tags)
    assert len(s.nav_hrefs) == len(SECTION_TITLES)
    for href in s.nav_hrefs:
        assert href.startswith("#")
        assert href[1:] in s.ids


def test_html_escapes_policy_text() -> None:
    d = modified(lambda x: x["commitments"][0].update(text="We <script>never</script> sell."))
    html = render_html(d)
    assert "<script>" not in html
    assert "&lt;script&gt;never" in html


MINIMAL = """
troth: 1
policy: {id: tiny, version: "1", language: de}
organisation: {name: Tiny GmbH}
"""


@pytest.mark.parametrize(
    "render", [render_markdown, render_html, render_record_csv, render_record_html]
)
def test_minimal_policy_renders(render: Any) -> None:
    d = load_policy("tiny.yaml", text=MINIMAL)
    out = render(d)
    assert out
    if render is render_html:
        assert 'lang="de"' in out
        assert "The policy declares none." in out


def test_recipient_of_all_categories_renders(doc: PolicyDocument) -> None:
    policy = doc.policy.model_copy(deep=True)
    policy.recipients.append(
        Recipient(id="police", name="Police", type=RecipientType.authority, categories="all")
    )
    d = PolicyDocument(policy=policy, source=doc.source, taxonomy=doc.taxonomy, path=doc.path)
    assert "all categories of personal data" in render_markdown(d)
    assert all("Police (authority)" in r.recipients for r in record_rows(d))


def test_record_csv_one_row_per_purpose_with_legal_bases(doc: PolicyDocument) -> None:
    rows = list(csv.DictReader(io.StringIO(render_record_csv(doc))))
    assert [r["Purpose id"] for r in rows] == [p.id for p in doc.policy.purposes]
    basis = {r["Purpose id"]: r["Legal basis"] for r in rows}
    assert basis["order_fulfilment"].startswith("performance of a contract (GDPR Art. 6(1)(b))")
    assert basis["marketing_email"].startswith("consent (GDPR Art. 6(1)(a))")
    assert basis["fraud_prevention"].startswith("legitimate interest")
    assert "Example Tax Code" in basis["tax_records"]
    first = rows[0]
    assert "Lantern Books Ltd" in first["Controller (name and contact)"]
    assert "dpo@example.com" in first["Data protection officer"]
    assert "Courier services: US" in first["Transfers to third countries"]
    assert "TLS" in first["Technical and organisational security measures"]
    assert set(first["Promises"].split()) >= {"LB-1", "LB-7"}


def test_record_rows_link_retention_and_recipients(doc: PolicyDocument) -> None:
    rows = {r.purpose_id: r for r in record_rows(doc)}
    assert "30 days after consent is withdrawn" in rows["marketing_email"].retention
    assert "not stated" in rows["fraud_prevention"].retention
    assert "legal hold 10 years" in rows["tax_records"].retention
    assert "Courier services (processor)" not in rows["marketing_email"].recipients
    assert rows["marketing_email"].transfers == "none declared"
    assert rows["marketing_email"].data_subjects == "Customer, Prospect"
    assert rows["fraud_prevention"].data_subjects == "not stated"


def test_record_html_has_a_row_per_purpose(doc: PolicyDocument) -> None:
    html = render_record_html(doc)
    assert html.count('<th scope="row">') == len(doc.policy.purposes)
    assert "GDPR Art. 30(1)" in html


def test_policy_language_and_empty_sections() -> None:
    data = fixture_data()
    data["recipients"] = []
    data["cookies"] = None
    md = render_markdown(policy_from(data))
    recip = md.split("## Who receives your data")[1].split("## ")[0]
    assert "The policy declares none." in recip


# --- the CLI --------------------------------------------------------------------------------------


def test_cli_render_prints_markdown_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    from troth.cli import main

    assert main(["render", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Lantern Books Privacy Policy")
    assert "[LB-7]" in out


def test_cli_render_accepts_a_folder(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from render_helpers import write_policy
    from troth.cli import main

    write_policy(tmp_path / "p", fixture_data())
    assert main(["render", str(tmp_path / "p"), "--format", "record-csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 + len(fixture_data()["purposes"])


def test_cli_render_html_to_file(tmp_path: Any) -> None:
    from troth.cli import main

    out = tmp_path / "site" / "privacy.html"
    assert main(["render", str(FIXTURE), "-f", "html", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_render_all_writes_four_files(tmp_path: Any) -> None:
    from troth.cli import main

    assert main(["render", str(FIXTURE), "--format", "all", "-o", str(tmp_path / "out")]) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["policy.html", "policy.md", "record.csv", "record.html"]
    assert "[LB-1]" in (tmp_path / "out" / "policy.md").read_text(encoding="utf-8")


def test_cli_render_all_without_folder_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from troth.cli import main

    assert main(["render", str(FIXTURE), "--format", "all"]) == 2
    err = capsys.readouterr().err
    assert "needs a folder" in err
    assert "-o" in err


def test_cli_render_missing_policy(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from troth.cli import main

    assert main(["render", str(tmp_path)]) == 2
    assert "file not found" in capsys.readouterr().err


def test_ungrouped_categories_need_no_sub_heading() -> None:
    def change(d: dict[str, Any]) -> None:
        for c in d["data_categories"]:
            c.pop("group", None)

    md = render_markdown(modified(change))
    section = md.split("## What personal data we collect")[1].split("### Whose data")[0]
    assert "###" not in section
    assert "**Name**: Your first and last name. [LB-1]" in section

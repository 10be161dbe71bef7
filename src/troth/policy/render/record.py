"""The record of processing activities (GDPR Art. 30(1)): one row per purpose, as CSV or HTML."""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields

from troth.policy import model as m
from troth.policy.loader import PolicyDocument
from troth.policy.render import labels as L
from troth.policy.render.templates import render_template
from troth.policy.taxonomy import covers

NONE = "none declared"


@dataclass(frozen=True)
class RecordRow:
    """One processing activity, with the items GDPR Art. 30(1)(a)-(g) asks for."""

    controller: str
    dpo: str
    purpose_id: str
    purpose: str
    legal_basis: str
    data_subjects: str
    data_categories: str
    recipients: str
    transfers: str
    retention: str
    security: str
    promises: str


HEADERS: dict[str, str] = {
    "controller": "Controller (name and contact)",
    "dpo": "Data protection officer",
    "purpose_id": "Purpose id",
    "purpose": "Purpose of the processing",
    "legal_basis": "Legal basis",
    "data_subjects": "Categories of data subjects",
    "data_categories": "Categories of personal data",
    "recipients": "Categories of recipients",
    "transfers": "Transfers to third countries",
    "retention": "Time limits for erasure",
    "security": "Technical and organisational security measures",
    "promises": "Promises",
}


def _overlaps(a: list[str] | str, b: list[str]) -> bool:
    if a == "all":
        return True
    return any(covers(x, y) or covers(y, x) for x in a for y in b)


def _controller(doc: PolicyDocument) -> str:
    org = doc.policy.organisation
    parts = [org.legal_name or org.name]
    if org.address:
        parts.append(org.address)
    if org.contact and not org.contact.is_empty():
        parts.append(L.contact(org.contact))
    if org.representative:
        parts.append(f"representative: {L.contact(org.representative)}")
    return "; ".join(parts)


def _subjects(doc: PolicyDocument, pur: m.Purpose) -> str:
    keys = list(pur.subjects)
    if not keys:  # fall back on the subjects of the categories it uses
        for c in doc.policy.data_categories:
            if c.key in pur.categories:
                keys += c.subjects
    return L.subjects(doc, dict.fromkeys(keys))


def recipients_for(doc: PolicyDocument, pur: m.Purpose) -> list[m.Recipient]:
    """Recipients named for the purpose, or (naming no purpose) receiving any of its data."""
    out = []
    for r in doc.policy.recipients:
        if pur.id in r.purposes or (not r.purposes and _overlaps(r.categories, pur.categories)):
            out.append(r)
    return out


def retention_for(doc: PolicyDocument, pur: m.Purpose) -> list[m.RetentionRule]:
    """Rules naming the purpose, or (naming no purpose) covering any of its data."""
    return [
        rule
        for rule in doc.policy.retention
        if pur.id in rule.purposes
        or (not rule.purposes and _overlaps(rule.categories, pur.categories))
    ]


def _retention(doc: PolicyDocument, rules: list[m.RetentionRule]) -> str:
    parts = []
    for rule in rules:
        text = f"{L.retention_name(doc, rule)}: {L.retention_period(rule)}"
        for h in rule.legal_holds:
            law = f" ({h.law})" if h.law else ""
            text += f"; legal hold {L.duration(h.period)}{law}"
        parts.append(text)
    return " | ".join(parts) or "not stated"


def record_rows(doc: PolicyDocument) -> list[RecordRow]:
    """One Art. 30 row per purpose of the policy."""
    p = doc.policy
    controller = _controller(doc)
    dpo = L.contacts(p.organisation.dpo)
    security = "; ".join(f"{s.description} ({s.kind})" for s in p.security) or NONE
    rows = []
    for pur in p.purposes:
        recips = recipients_for(doc, pur)
        rules = retention_for(doc, pur)
        transfers = [
            f"{r.name}: {r.country} (safeguards: "
            f"{', '.join(x for x in (r.transfer, r.safeguards) if x) or L.NOT_STATED})"
            for r in recips
            if r.country
        ]
        promises = [*pur.promises]
        for el in [*recips, *rules]:
            promises += el.promises
        rows.append(
            RecordRow(
                controller=controller,
                dpo=dpo,
                purpose_id=pur.id,
                purpose=pur.name + (f": {pur.description}" if pur.description else ""),
                legal_basis=L.purpose_basis(doc, pur, article=True),
                data_subjects=_subjects(doc, pur),
                data_categories=L.categories(doc, pur.categories),
                recipients=L.join(
                    (f"{r.name} ({L.humanise(r.type.value)})" for r in recips), empty=NONE
                ),
                transfers="; ".join(transfers) or NONE,
                retention=_retention(doc, rules),
                security=security,
                promises=" ".join(sorted(set(promises), key=_promise_order)),
            )
        )
    return rows


def _promise_order(pid: str) -> tuple[str, int]:
    prefix, _, n = pid.rpartition("-")
    return prefix, int(n)


def render_record_csv(doc: PolicyDocument) -> str:
    """The Art. 30 record as CSV with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADERS.values())
    for r in record_rows(doc):
        writer.writerow(astuple(r))
    return buf.getvalue()


def render_record_html(doc: PolicyDocument) -> str:
    """The Art. 30 record as a standalone, accessible HTML table."""
    meta = doc.policy.policy
    org = doc.policy.organisation
    return render_template(
        "record.html.j2",
        lang=meta.language or "en",
        title=f"Record of processing activities: {org.legal_name or org.name}",
        version=meta.version,
        effective=meta.effective.isoformat() if meta.effective else None,
        headers=[HEADERS[f.name] for f in fields(RecordRow)],
        rows=[astuple(r) for r in record_rows(doc)],
    )

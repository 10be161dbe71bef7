"""Readable labels for the policy model's keys, enums and durations (shared by every renderer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from troth.policy.duration import Duration
from troth.policy.loader import PolicyDocument
from troth.policy.model import (
    Contact,
    LegalBasis,
    Purpose,
    RetentionRule,
    Trigger,
)

NOT_STATED = "not stated"

LEGAL_BASIS: dict[LegalBasis, str] = {
    LegalBasis.consent: "consent",
    LegalBasis.contract: "performance of a contract",
    LegalBasis.legal_obligation: "legal obligation",
    LegalBasis.legitimate_interest: "legitimate interest",
    LegalBasis.vital_interest: "vital interests",
    LegalBasis.public_task: "public task",
}
LEGAL_BASIS_ARTICLE: dict[LegalBasis, str] = {
    LegalBasis.consent: "GDPR Art. 6(1)(a)",
    LegalBasis.contract: "GDPR Art. 6(1)(b)",
    LegalBasis.legal_obligation: "GDPR Art. 6(1)(c)",
    LegalBasis.vital_interest: "GDPR Art. 6(1)(d)",
    LegalBasis.public_task: "GDPR Art. 6(1)(e)",
    LegalBasis.legitimate_interest: "GDPR Art. 6(1)(f)",
}
TRIGGER: dict[Trigger, str] = {
    Trigger.collection: "after collection",
    Trigger.last_activity: "after last activity",
    Trigger.account_closure: "after the account is closed",
    Trigger.purpose_fulfilled: "after the purpose is fulfilled",
    Trigger.consent_withdrawn: "after consent is withdrawn",
}
RIGHT: dict[str, str] = {
    "access": "Access your data",
    "erasure": "Have your data erased",
    "rectification": "Have your data corrected",
    "restriction": "Restrict processing",
    "objection": "Object to processing",
    "portability": "Receive your data in a portable format",
    "withdraw_consent": "Withdraw your consent",
    "complaint": "Complain to a supervisory authority",
}
JURISDICTION: dict[str, str] = {
    "gdpr": "EU General Data Protection Regulation (GDPR)",
    "uk_gdpr": "UK GDPR",
    "ccpa": "California Consumer Privacy Act (CCPA)",
    "lgpd": "Brazil's LGPD",
    "pdpa_th": "Thailand's PDPA",
    "pipeda": "Canada's PIPEDA",
}


def humanise(value: str) -> str:
    """``double_opt_in`` -> ``double opt in``."""
    return value.replace("_", " ")


def join(items: Iterable[str], empty: str = NOT_STATED) -> str:
    out = [i for i in items if i]
    return ", ".join(out) if out else empty


def category(doc: PolicyDocument, key: str) -> str:
    return doc.taxonomy.name("data_categories", key)


def categories(doc: PolicyDocument, keys: Iterable[str] | Literal["all"]) -> str:
    if keys == "all":
        return "all categories of personal data"
    return join(category(doc, k) for k in keys)


def subjects(doc: PolicyDocument, keys: Iterable[str]) -> str:
    return join(doc.taxonomy.name("data_subjects", k) for k in keys)


def use(doc: PolicyDocument, key: str) -> str:
    return doc.taxonomy.name("data_uses", key)


def duration(value: Duration | str | None) -> str:
    return NOT_STATED if value is None else str(value)


def legal_basis(basis: LegalBasis | None, *, article: bool = False) -> str:
    if basis is None:
        return NOT_STATED
    text = LEGAL_BASIS[basis]
    return f"{text} ({LEGAL_BASIS_ARTICLE[basis]})" if article else text


def purpose_basis(doc: PolicyDocument, purpose: Purpose, *, article: bool = False) -> str:
    """Legal basis with its details: the consents, the interest, the statute."""
    text = legal_basis(purpose.legal_basis, article=article)
    details: list[str] = []
    if purpose.consents:
        names = [c.name if (c := doc.policy.consent(cid)) else cid for cid in purpose.consents]
        details.append("consent: " + join(names))
    if purpose.legitimate_interest:
        details.append("interest: " + purpose.legitimate_interest)
    if purpose.statute:
        details.append("law: " + purpose.statute)
    return f"{text} ({'; '.join(details)})" if details else text


def purpose_name(doc: PolicyDocument, pid: str) -> str:
    found = doc.policy.purpose(pid)
    return found.name if found else pid


def purposes(doc: PolicyDocument, pids: Iterable[str]) -> str:
    return join(purpose_name(doc, p) for p in pids)


def retention_period(rule: RetentionRule) -> str:
    """``2 years after last activity, then deleted`` or ``not stated``."""
    if rule.period is None:
        return f"{NOT_STATED} (the policy gives no period)"
    action = "deleted" if rule.action.value == "delete" else "anonymised"
    return f"{rule.period} {TRIGGER[rule.trigger]}, then {action}"


def retention_name(doc: PolicyDocument, rule: RetentionRule) -> str:
    return rule.name or categories(doc, rule.categories)


def contact(c: Contact | None) -> str:
    if c is None:
        return NOT_STATED
    parts = [p for p in (c.name, c.email, c.phone, c.url) if p]
    return ", ".join(parts) or NOT_STATED


def contacts(items: Iterable[Contact]) -> str:
    return join((contact(c) for c in items), empty=NOT_STATED)

"""What changed between two versions of a policy, as changelog sentences.

Elements are matched by their id (purposes, consents, recipients...), by key (data categories,
subjects), by right or by promise id. Well-known fields get a purpose-written sentence; every other
field falls back to a generic "X changed from A to B", so no change goes unreported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from troth.policy import model as m
from troth.policy.duration import Duration
from troth.policy.loader import PolicyDocument
from troth.policy.render import labels as L

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: its kind, the section and element it is in, and a changelog sentence."""

    kind: Kind
    section: str
    element: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class _Spec:
    section: str
    noun: str
    key: Callable[[Any], str]
    name: Callable[[PolicyDocument, Any], str]
    added: Callable[[PolicyDocument, Any], str]


def _val(doc: PolicyDocument, field: str, value: Any) -> str:
    """A field value in words."""
    if value is None:
        return L.NOT_STATED
    if value in ([], {}):
        return "none"
    if field == "legal_basis" and isinstance(value, m.LegalBasis):
        return L.legal_basis(value)
    if field in {"categories", "data_categories"} and (isinstance(value, list) or value == "all"):
        return L.categories(doc, value)
    if field in {"subjects"} and isinstance(value, list):
        return L.subjects(doc, value)
    if isinstance(value, Enum):
        return L.humanise(str(value.value))
    if isinstance(value, Duration | date):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return L.join(_val(doc, field, v) for v in value)
    if isinstance(value, dict):
        return L.join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, BaseModel):
        return L.join(
            f"{k} {_val(doc, k, getattr(value, k))}"
            for k in type(value).model_fields
            if getattr(value, k) not in (None, [], {})
        )
    return str(value)


def _purpose_added(doc: PolicyDocument, p: m.Purpose) -> str:
    return (
        f"New purpose '{p.id}' ({p.name}) relies on {L.purpose_basis(doc, p)} and uses: "
        f"{L.categories(doc, p.categories)}."
    )


def _recipient_added(doc: PolicyDocument, r: m.Recipient) -> str:
    cond = " when a legal request requires it" if r.legal_request_required else ""
    return (
        f"New recipient '{r.name}' ({L.humanise(r.type.value)}) receives{cond}: "
        f"{L.categories(doc, r.categories).lower()}."
    )


def _retention_added(doc: PolicyDocument, r: m.RetentionRule) -> str:
    return f"New retention rule: {L.retention_name(doc, r)} kept {L.retention_period(r)}."


def _consent_added(doc: PolicyDocument, c: m.Consent) -> str:
    return (
        f"New consent '{c.id}' ({c.name}) for {L.purposes(doc, c.purposes)}, "
        f"notice version {c.notice.version}."
    )


def _named(attr: str) -> Callable[[PolicyDocument, Any], str]:
    return lambda _doc, el: f"'{getattr(el, attr)}'"


def _simple(noun: str, attr: str) -> Callable[[PolicyDocument, Any], str]:
    return lambda _doc, el: f"New {noun} '{getattr(el, attr)}'."


SPECS: dict[str, _Spec] = {
    "promises": _Spec(
        "promises",
        "Promise",
        lambda e: e.id,
        _named("id"),
        lambda _d, e: f"New promise {e.id}: {e.text}",
    ),
    "data_subjects": _Spec(
        "data_subjects",
        "Data subject",
        lambda e: e.key,
        lambda d, e: f"'{L.subjects(d, [e.key])}'",
        lambda d, e: f"New data subject: {L.subjects(d, [e.key])}.",
    ),
    "data_categories": _Spec(
        "data_categories",
        "Data category",
        lambda e: e.key,
        lambda d, e: f"'{L.category(d, e.key)}'",
        lambda d, e: f"Now collects: {L.category(d, e.key).lower()}.",
    ),
    "purposes": _Spec("purposes", "Purpose", lambda e: e.id, _named("id"), _purpose_added),
    "collection_points": _Spec(
        "collection_points",
        "Collection point",
        lambda e: e.id,
        _named("name"),
        _simple("collection point", "name"),
    ),
    "consents": _Spec("consents", "Consent", lambda e: e.id, _named("id"), _consent_added),
    "retention": _Spec(
        "retention",
        "Retention rule",
        lambda e: e.id,
        lambda d, e: f"'{L.retention_name(d, e)}'",
        _retention_added,
    ),
    "recipients": _Spec(
        "recipients", "Recipient", lambda e: e.id, _named("name"), _recipient_added
    ),
    "restricted_sources": _Spec(
        "restricted_sources",
        "Restricted source",
        lambda e: e.id,
        _named("name"),
        _simple("restricted source", "name"),
    ),
    "commitments": _Spec(
        "commitments",
        "Commitment",
        lambda e: e.id,
        _named("id"),
        lambda _d, e: f"New commitment: {e.text}",
    ),
    "security": _Spec(
        "security",
        "Security measure",
        lambda e: e.id,
        _named("id"),
        lambda _d, e: f"New security measure: {e.description}",
    ),
    "rights": _Spec(
        "rights",
        "Right",
        lambda e: e.right.value,
        lambda _d, e: f"'{L.RIGHT[e.right.value].lower()}'",
        lambda _d, e: f"New right: {L.RIGHT[e.right.value].lower()} ({e.channel}).",
    ),
    "cookies": _Spec(
        "cookies",
        "Cookie",
        lambda e: e.id,
        _named("name"),
        lambda _d, e: f"New cookie '{e.name}' ({e.category.value}).",
    ),
}


Docs = tuple[PolicyDocument, PolicyDocument]


def _plain(value: Any) -> Any:
    """Comparable data (pydantic equality would also compare source positions)."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _special(section: str, field: str, docs: Docs, old: Any, new: Any) -> str | None:
    """A purpose-written sentence for a well-known change, or None for the generic one."""
    old_doc, new_doc = docs
    if section == "purposes" and field == "legal_basis":
        return (
            f"Purpose '{new.id}' now relies on {_val(new_doc, field, new.legal_basis)} "
            f"instead of {_val(old_doc, field, old.legal_basis)}."
        )
    if section == "retention" and field in {"period", "trigger"}:
        return (
            f"Retention of {L.retention_name(new_doc, new).lower()} changed from "
            f"{_period(old)} to {_period(new)}."
        )
    if section == "consents" and field == "notice" and old.notice.version != new.notice.version:
        return (
            f"Consent '{new.id}' notice changed from version {old.notice.version} "
            f"to version {new.notice.version}."
        )
    if section == "recipients" and field == "categories":
        return (
            f"Recipient '{new.name}' now receives: {_val(new_doc, field, new.categories).lower()} "
            f"(before: {_val(old_doc, field, old.categories).lower()})."
        )
    return None


def _holds(label: str, docs: Docs, a: list[Any], b: list[Any]) -> Iterator[str]:
    olds = {h.id: h for h in a}
    news = {h.id: h for h in b}
    for hid in olds.keys() - news.keys():
        yield f"{label}: legal hold '{hid}' was removed."
    for hid, h in news.items():
        law = f" under {h.law}" if h.law else ""
        if hid not in olds:
            yield f"{label}: new legal hold '{hid}' keeps data {L.duration(h.period)}{law}."
        else:
            yield from _fields("legal_holds", f"{label}, legal hold '{hid}'", docs, olds[hid], h)


def _period(rule: m.RetentionRule) -> str:
    if rule.period is None:
        return "not stated"
    return f"{rule.period} {L.TRIGGER[rule.trigger]}"


def _changelog(a: list[m.ChangelogEntry], b: list[m.ChangelogEntry]) -> Iterator[str]:
    olds = {e.version: e for e in a}
    news = {e.version: e for e in b}
    for version, e in news.items():
        if version not in olds:
            yield f"Changelog entry for version {version}: {'; '.join(e.changes)}"
        elif olds[version] != e:
            yield f"Changelog entry for version {version} was edited."
    for version in olds.keys() - news.keys():
        yield f"Changelog entry for version {version} was removed."


def _fields(
    section: str, label: str, docs: Docs, old: Any, new: Any, *, skip: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Sentences for the fields of two versions of one element."""
    for field in type(new).model_fields:
        a, b = getattr(old, field), getattr(new, field)
        if field in skip or _plain(a) == _plain(b):
            continue
        if field == "legal_holds":
            yield from _holds(label, docs, a, b)
        elif field == "changelog":
            yield from _changelog(a, b)
        elif special := _special(section, field, docs, old, new):
            if section != "retention" or field == "period" or old.period == new.period:
                yield special
        elif field == "promises":
            gained = [p for p in b if p not in a]
            lost = [p for p in a if p not in b]
            if gained:
                yield f"{label} now encodes promise {', '.join(gained)}."
            if lost:
                yield f"{label} no longer encodes promise {', '.join(lost)}."
            if not gained and not lost:
                yield f"{label}: promises reordered."
        elif field == "assumptions":
            for k in sorted(set(a) | set(b)):
                if k not in b:
                    yield f"{label}: '{k}' is now stated by the policy (no longer assumed)."
                elif a.get(k) != b[k]:
                    yield f"{label}: troth now assumes '{k}': {b[k]}"
        else:
            yield (
                f"{label}: {L.humanise(field)} changed from {_val(docs[0], field, a)} "
                f"to {_val(docs[1], field, b)}."
            )


def _keyed(spec: _Spec, docs: Docs, olds: list[Any], news: list[Any]) -> Iterator[Change]:
    a = {spec.key(e): e for e in olds}
    b = {spec.key(e): e for e in news}
    for key, el in a.items():
        if key not in b:
            text = f"{spec.noun} {spec.name(docs[0], el)} was removed."
            yield Change("removed", spec.section, key, text)
    for key, el in b.items():
        if key not in a:
            yield Change("added", spec.section, key, spec.added(docs[1], el))
        else:
            label = f"{spec.noun} {spec.name(docs[1], el)}"
            for text in _fields(spec.section, label, docs, a[key], el):
                yield Change("changed", spec.section, key, text)


def _single(
    section: str,
    key: str,
    docs: Docs,
    old: Any,
    new: Any,
    *,
    label: str,
    skip: frozenset[str] = frozenset(),
) -> Iterator[Change]:
    if old is None or new is None:
        if old is not new:
            kind: Kind = "added" if old is None else "removed"
            yield Change(kind, section, key, f"{label} section was {kind}.")
        return
    for text in _fields(section, label, docs, old, new, skip=skip):
        yield Change("changed", section, key, text)


def diff_policies(old_doc: PolicyDocument, new_doc: PolicyDocument) -> list[Change]:
    """Every difference between two policies, as changelog sentences (empty when equal)."""
    old, new = old_doc.policy, new_doc.policy
    docs = (old_doc, new_doc)
    out: list[Change] = []
    a, b = old.policy, new.policy
    if a.version != b.version:
        text = f"Policy version changed from {a.version} to {b.version}."
        out.append(Change("changed", "policy", "version", text))
    meta_skip = frozenset({"version", "changes"})
    out += _single("policy", a.id, docs, a, b, label="Policy", skip=meta_skip)
    out += _single("policy", "changes", docs, a.changes, b.changes, label="Change notice")
    out += _single(
        "organisation",
        "organisation",
        docs,
        old.organisation,
        new.organisation,
        label="Organisation",
    )
    if old.jurisdictions != new.jurisdictions:
        text = (
            f"Laws applied changed from {_val(old_doc, 'j', old.jurisdictions)} "
            f"to {_val(new_doc, 'j', new.jurisdictions)}."
        )
        out.append(Change("changed", "jurisdictions", "jurisdictions", text))
    out += _single("taxonomy", "taxonomy", docs, old.taxonomy, new.taxonomy, label="Taxonomy")
    for name, spec in SPECS.items():
        if name != "cookies":
            out += _keyed(spec, docs, getattr(old, name), getattr(new, name))
    oc, nc = old.cookies, new.cookies
    out += _single("cookies", "cookies", docs, oc, nc, label="Cookies", skip=frozenset({"items"}))
    out += _keyed(SPECS["cookies"], docs, oc.items if oc else [], nc.items if nc else [])
    return out

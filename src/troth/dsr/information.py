"""The information an access copy owes the person (GDPR Art. 15(1) and (2)), from the policy.

Drawn from the same policy the published text is rendered from (the labels of
:mod:`troth.policy.render.labels`), narrowed to the data the export holds: the purposes,
recipients, retention rules and sources whose categories meet the categories of the exported
tables. Where the policy is silent, the copy says so ("the policy states no ..."), never invents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from troth.datamap.graph import TableId
from troth.datamap.model import DataMap, LegalHold, is_personal_category
from troth.dsr.labels import column_label, table_label
from troth.policy.loader import PolicyDocument
from troth.policy.model import CommitmentKind, Policy, Purpose, RightKind, Source
from troth.policy.model import LegalHold as PolicyHold
from troth.policy.render import labels as L
from troth.policy.taxonomy import Taxonomy, covers
from troth.policy.yamlsrc import SourceMap

if TYPE_CHECKING:
    from troth.sharing.register import DisclosedTo

#: the rights every copy names (Art. 15(1)(e)), then portability (Art. 20)
RIGHTS = (
    RightKind.access,
    RightKind.rectification,
    RightKind.erasure,
    RightKind.restriction,
    RightKind.objection,
    RightKind.portability,
)
SOURCE = {
    Source.data_subject: "you gave it to us",
    Source.user_on_behalf: "a user gave it to us on your behalf",
    Source.observed: "we observe it while you use our services",
    Source.third_party: "a third party gave it to us",
}
COMPLAINT = (
    "You have the right to lodge a complaint with a supervisory authority, in particular in the "
    "country where you live or work or where you think the law was broken."
)


@dataclass
class Entry:
    title: str
    text: str = ""
    details: list[str] = field(default_factory=list)


@dataclass
class Part:
    id: str
    title: str
    article: str
    entries: list[Entry] = field(default_factory=list)


def policy_document(policy: Policy) -> PolicyDocument:
    """A loaded-document view of a policy (its taxonomy extended), for the shared labels."""
    taxonomy = Taxonomy.default()
    kinds: tuple[Literal["data_categories", "data_subjects", "data_uses"], ...] = (
        "data_categories",
        "data_subjects",
        "data_uses",
    )
    for kind in kinds:
        for term in getattr(policy.taxonomy, kind):
            taxonomy.extend(kind, term.key, term.name)
    return PolicyDocument(
        policy=policy, source=SourceMap("policy.yaml"), taxonomy=taxonomy, path=Path("policy.yaml")
    )


def held_categories(
    datamap: DataMap, tables: Iterable[TableId], paths: Iterable[tuple[TableId, str, str]] = ()
) -> list[str]:
    """Personal categories the map gives the exported tables (and the JSON paths of mentions)."""
    keys: list[str] = []
    for tid in tables:
        table = datamap.resolve(tid.dataset, tid.table)
        for f in table.fields if table is not None else ():
            keys += f.categories
            keys += [c for p in f.json_paths for c in p.categories]
    for tid, column, path in paths:
        fld = datamap.resolve(tid.dataset, tid.table, column)
        found = [p for p in getattr(fld, "json_paths", []) if p.path == path]
        keys += [c for p in found for c in p.categories] or list(getattr(fld, "categories", []))
    return [k for k in dict.fromkeys(keys) if is_personal_category(k)]


def information(
    doc: PolicyDocument,
    datamap: DataMap,
    tables: Sequence[TableId],
    held: Sequence[str],
    disclosed: Sequence[DisclosedTo] = (),
) -> list[Part]:
    """The Art. 15 parts for an export of ``tables`` holding the categories ``held``;
    ``disclosed``: the recipients the disclosure register says received the person's data."""
    return [
        _controller(doc),
        _purposes(doc, held),
        _categories(doc, held),
        _recipients(doc, held, disclosed),
        _retention(doc, datamap, tables, held),
        _sources(doc, held),
        _automated(doc),
        _rights(doc, held),
    ]


def as_dicts(parts: Sequence[Part]) -> list[dict[str, Any]]:
    return [asdict(p) for p in parts]


def _meets(keys: Iterable[str] | Literal["all"], held: Sequence[str]) -> bool:
    """True when the categories meet the held ones (either covers the other); all when unknown."""
    if keys == "all" or not held:
        return True
    keys = list(keys)
    return not keys or any(covers(k, h) or covers(h, k) for k in keys for h in held)


def _controller(doc: PolicyDocument) -> Part:
    org = doc.policy.organisation
    part = Part("controller", "Who is responsible for your data", "Art. 13(1)(a), (b)")
    details = [f"Address: {org.address}"] if org.address else []
    if org.website:
        details.append(f"Website: {org.website}")
    details.append(f"Contact: {L.contact(org.contact)}")
    part.entries.append(Entry("Controller", org.legal_name or org.name, details))
    for dpo in org.dpo:
        part.entries.append(Entry("Data Protection Officer", L.contact(dpo)))
    if not org.dpo:
        part.entries.append(Entry("Data Protection Officer", "The policy names none."))
    if org.representative:
        part.entries.append(Entry("Representative", L.contact(org.representative)))
    return part


def _purposes(doc: PolicyDocument, held: Sequence[str]) -> Part:
    part = Part("purposes", "Why we use your data and on which legal basis", "Art. 15(1)(a)")
    for pur in doc.policy.purposes:
        if not _meets(pur.categories, held):
            continue
        details = [
            f"Legal basis: {L.purpose_basis(doc, pur, article=True)}",
            f"Data used: {L.categories(doc, pur.categories)}",
        ]
        part.entries.append(Entry(pur.name, pur.description or L.use(doc, pur.use), details))
    if not part.entries:
        part.entries.append(Entry("Purposes", "The policy states no purpose for this data."))
    return part


def _categories(doc: PolicyDocument, held: Sequence[str]) -> Part:
    part = Part("categories", "The kinds of personal data we hold about you", "Art. 15(1)(b)")
    declared = {c.key: c for c in doc.policy.data_categories}
    for key in held:
        cat = declared.get(key)
        part.entries.append(Entry(L.category(doc, key), (cat.description or "") if cat else ""))
    if not part.entries:
        part.entries.append(Entry("Categories", "The data map names no category for this data."))
    return part


def _recipients(
    doc: PolicyDocument, held: Sequence[str], disclosed: Sequence[DisclosedTo] = ()
) -> Part:
    part = Part("recipients", "Who receives your data", "Art. 15(1)(c), 15(2)")
    for r in doc.policy.recipients:
        if not _meets(r.categories, held):
            continue
        details = [f"Data: {L.categories(doc, r.categories)}"]
        if r.purposes:
            details.append(f"For: {L.purposes(doc, r.purposes)}")
        if r.legal_request_required:
            details.append("Only when a valid legal request requires it.")
        if r.country:
            details.append(f"Located in: {r.country}; safeguards: {r.safeguards or L.NOT_STATED}")
        title = f"{r.name} ({L.humanise(r.type.value)})"
        part.entries.append(
            Entry(title, r.description or L.humanise(r.type.value).capitalize(), details)
        )
    if not part.entries:
        part.entries.append(Entry("Recipients", "The policy names no recipient of this data."))
    _disclosed(doc, part, disclosed)
    sharing = {CommitmentKind.no_third_party_sharing, CommitmentKind.no_sale}
    part.entries += [
        Entry("Our commitment", c.text) for c in doc.policy.commitments if c.kind in sharing
    ]
    return part


def _disclosed(doc: PolicyDocument, part: Part, disclosed: Sequence[DisclosedTo]) -> None:
    """The recipients your data was actually disclosed to (from the disclosure register)."""
    names = {r.id: r.name for r in doc.policy.recipients}
    for d in disclosed:
        details = [
            f"Data: {L.categories(doc, list(d.categories))}",
            f"For: {L.purposes(doc, list(d.purposes))}",
            f"Times: {d.count}, from {d.first[:10]} to {d.last[:10]}",
        ]
        if d.legal_request:
            details.append("On a legal request.")
        title = f"Disclosed to {names.get(d.recipient, d.recipient)}"
        part.entries.append(Entry(title, "Your data was disclosed to this recipient.", details))
    if not disclosed:
        part.entries.append(
            Entry("Disclosures", "Our register records no disclosure of your data to anyone.")
        )


def _retention(
    doc: PolicyDocument, datamap: DataMap, tables: Sequence[TableId], held: Sequence[str]
) -> Part:
    part = Part("retention", "How long we keep it", "Art. 15(1)(d)")
    covered: set[str] = set()
    for rule in doc.policy.retention:
        if not _meets(rule.categories, held):
            continue
        covered |= {h for h in held if any(covers(c, h) for c in rule.categories)}
        if rule.period is not None:
            text = L.retention_period(rule)
        else:
            action = "deleted" if rule.action.value == "delete" else "anonymised"
            text = (
                f"The policy states no period. The criterion: {action} "
                f"{L.TRIGGER[rule.trigger]}"
                + (f" ({L.purposes(doc, rule.purposes)})" if rule.purposes else "")
                + "."
            )
        details = [f"Data: {L.categories(doc, rule.categories)}"]
        details += [f"Kept longer: {_policy_hold(h)}" for h in rule.legal_holds]
        part.entries.append(Entry(L.retention_name(doc, rule), text, details))
    for tid in tables:
        for title, hold in _map_holds(datamap, tid):
            part.entries.append(Entry(title, f"Kept: {hold.reason}.", _hold_details(hold)))
    uncovered = [h for h in held if h not in covered]
    if uncovered:
        part.entries.append(
            Entry(
                "No period stated",
                "The policy states no retention period or criteria for: "
                + L.join(L.category(doc, k) for k in uncovered)
                + ".",
            )
        )
    return part


def _policy_hold(h: PolicyHold) -> str:
    law = f" under {h.law}" if h.law else ""
    period = f"for {h.period}" if h.period else "for a period the policy does not state"
    return f"{h.reason}{law} ({period})"


def _map_holds(datamap: DataMap, tid: TableId) -> list[tuple[str, LegalHold]]:
    table = datamap.resolve(tid.dataset, tid.table)
    if table is None:
        return []
    label = table_label(datamap, tid)
    out = [(label, h) for h in table.legal_holds]
    for f in table.fields:
        out += [(f"{label}: {column_label(datamap, tid, f.name)}", h) for h in f.legal_holds]
    return out


def _hold_details(hold: LegalHold) -> list[str]:
    details = [f"Legal basis: {L.legal_basis(hold.basis, article=True)}"]
    if hold.law:
        details.append(f"Law: {hold.law}")
    if hold.for_:
        details.append(f"For: {hold.for_.replace('_', ' ')}")
    elif hold.period:
        details.append(f"For: {hold.period}")
    return details


def _sources(doc: PolicyDocument, held: Sequence[str]) -> Part:
    part = Part("sources", "Where your data comes from", "Art. 15(1)(g)")
    points = [cp for cp in doc.policy.collection_points if _meets(cp.categories, held)]
    for cp in points:
        details = [f"Data: {L.categories(doc, cp.categories)}"]
        part.entries.append(Entry(cp.name, f"{SOURCE[cp.source].capitalize()}.", details))
    known = {h for h in held for cp in points if any(covers(c, h) for c in cp.categories)}
    unknown = [h for h in held if h not in known]
    if unknown:
        names = L.join(L.category(doc, k) for k in unknown)
        part.entries.append(
            Entry("Source not stated", f"The policy does not say where this comes from: {names}.")
        )
    return part


def _automated(doc: PolicyDocument) -> Part:
    part = Part("automated", "Automated decisions", "Art. 15(1)(h)")
    found = [c for c in doc.policy.commitments if c.kind == CommitmentKind.no_automated_decisions]
    part.entries += [Entry("Our commitment", c.text) for c in found]
    if not found:
        part.entries.append(
            Entry(
                "Automated decisions",
                "The policy does not say whether decisions about you are made by automated "
                "means alone.",
            )
        )
    return part


def _rights(doc: PolicyDocument, held: Sequence[str]) -> Part:
    part = Part("rights", "Your rights", "Art. 15(1)(e), (f)")
    declared = {r.right: r for r in doc.policy.rights}
    fallback = _ask(doc)
    wanted: list[RightKind] = list(RIGHTS)
    if any(_consent_based(p) and _meets(p.categories, held) for p in doc.policy.purposes):
        wanted.append(RightKind.withdraw_consent)
    for kind in wanted:
        right = declared.get(kind)
        withdrawals = _withdrawals(doc, held) if kind == RightKind.withdraw_consent else []
        if right:
            text = f"How: {_channel(doc, right.channel)}"
            text += f" ({right.contact})" if right.contact else ""
        elif withdrawals:
            text = "How: " + L.join(withdrawals)
        else:
            text = f"You have this right; the policy names no way to exercise it: {fallback}."
        part.entries.append(Entry(L.RIGHT[kind.value], text))
    complaint = declared.get(RightKind.complaint)
    text = COMPLAINT + (f" How: {_channel(doc, complaint.channel)}." if complaint else "")
    details = []
    if doc.policy.jurisdictions:
        laws = L.join(L.JURISDICTION[j.value] for j in doc.policy.jurisdictions)
        details.append(f"Data protection laws the policy applies: {laws}")
    part.entries.append(Entry(L.RIGHT["complaint"], text, details))
    return part


def _withdrawals(doc: PolicyDocument, held: Sequence[str]) -> list[str]:
    """How the consents behind the purposes of this data are withdrawn, as the policy says."""
    out: list[str] = []
    for pur in doc.policy.purposes:
        if not _meets(pur.categories, held):
            continue
        for cid in pur.consents:
            consent = doc.policy.consent(cid)
            if consent and consent.withdrawal:
                out.append(f"{consent.name}: {_channel(doc, consent.withdrawal)}")
    return list(dict.fromkeys(out))


def _consent_based(purpose: Purpose) -> bool:
    return bool(purpose.consents) or (
        purpose.legal_basis is not None and purpose.legal_basis.value == "consent"
    )


def _ask(doc: PolicyDocument) -> str:
    org = doc.policy.organisation
    if org.dpo:
        return "write to our Data Protection Officer (" + L.contacts(org.dpo) + ")"
    if org.contact and not org.contact.is_empty():
        return "write to us (" + L.contact(org.contact) + ")"
    return "it gives no contact address either"


def _channel(doc: PolicyDocument, channel: str) -> str:
    """A channel that names a collection point (``notification_desk``) by its name."""
    cp = next((c for c in doc.policy.collection_points if c.id == channel), None)
    return cp.name if cp else channel

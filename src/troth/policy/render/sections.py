"""Build the sections of the human-readable policy from a loaded policy."""

from __future__ import annotations

import re

from troth.policy import model as m
from troth.policy.loader import PolicyDocument
from troth.policy.render import labels as L
from troth.policy.render.document import (
    Document,
    Item,
    Items,
    Para,
    Row,
    Section,
    Table,
    item,
    promise_index,
    row,
)

NONE_DECLARED = "The policy declares none."
OTHER = "Other data"


def build_document(doc: PolicyDocument) -> Document:
    """The whole readable policy as a renderer-neutral :class:`Document`."""
    p = doc.policy
    sections = [
        _who(doc),
        _collect(doc),
        _sources(doc),
        _purposes(doc),
        _consents(doc),
        _recipients(doc),
        _retention(doc),
        _cookies(doc),
        _restricted(doc),
        _commitments(doc),
        _security(doc),
        _rights(doc),
        _changes(doc),
    ]
    facts = [("Version", p.policy.version)]
    if p.policy.effective:
        facts.append(("Effective", p.policy.effective.isoformat()))
    if p.policy.url:
        facts.append(("Published at", p.policy.url))
    return Document(
        title=p.policy.title,
        lang=p.policy.language or "en",
        facts=facts,
        sections=sections,
        promises=promise_index(doc, sections),
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _items(sec: Section, items: list[Item]) -> Section:
    return sec.add(Items(items) if items else Para(Item(NONE_DECLARED)))


def _who(doc: PolicyDocument) -> Section:
    p, org = doc.policy, doc.policy.organisation
    sec = Section("who-we-are", "Who we are and how to contact us")
    name = org.legal_name or org.name
    text = f"{name} is responsible (the controller) for the personal data described here."
    if p.policy.scope:
        text += f" This policy covers: {p.policy.scope}"
    sec.add(Para(item(p.policy, text)))
    details = [f"Address: {org.address}"] if org.address else []
    if org.website:
        details.append(f"Website: {org.website}")
    details.append(f"Contact: {L.contact(org.contact)}")
    entries = [item(org, org.name, title="Organisation", details=details)]
    if org.contact and (org.contact.promises or org.contact.assumptions):
        entries.append(item(org.contact, L.contact(org.contact), title="Contact"))
    entries += [item(d, L.contact(d), title="Data Protection Officer") for d in org.dpo]
    if not org.dpo:
        entries.append(Item("not stated", title="Data Protection Officer"))
    if org.representative:
        entries.append(
            item(org.representative, L.contact(org.representative), title="Representative")
        )
    if p.jurisdictions:
        laws = L.join(L.JURISDICTION[j.value] for j in p.jurisdictions)
        entries.append(Item(laws, title="Data protection laws applied"))
    return sec.add(Items(entries))


def _collect(doc: PolicyDocument) -> Section:
    p = doc.policy
    sec = Section("what-we-collect", "What personal data we collect")
    groups: dict[str, list[Item]] = {}
    for c in p.data_categories:
        label = L.category(doc, c.key) + (" (special category)" if c.sensitive else "")
        details = [f"About: {L.subjects(doc, c.subjects)}"] if c.subjects else []
        groups.setdefault(c.group or OTHER, []).append(
            item(c, c.description or label, title=label if c.description else None, details=details)
        )
    if not groups:
        sec.para(NONE_DECLARED)
    if list(groups) == [OTHER]:  # no category has a group: no need for a sub-heading
        sec.add(Items(groups[OTHER]))
    else:
        for group, entries in groups.items():
            sec.subsections.append(Section(f"collect-{slug(group)}", group, 3, [Items(entries)]))
    if p.data_subjects:
        people = [
            item(s, s.description or "", title=doc.taxonomy.name("data_subjects", s.key))
            for s in p.data_subjects
        ]
        sec.subsections.append(Section("collect-people", "Whose data", 3, [Items(people)]))
    return sec


def _sources(doc: PolicyDocument) -> Section:
    sec = Section("where-from", "Where we collect it from")
    entries = []
    for cp in doc.policy.collection_points:
        details = [f"Data: {L.categories(doc, cp.categories)}"]
        if cp.purposes:
            details.append(f"Used for: {L.purposes(doc, cp.purposes)}")
        source = {
            "data_subject": "you provide it",
            "user_on_behalf": "a user provides it for you",
            "observed": "we observe it",
            "third_party": "a third party provides it",
        }
        text = f"{L.humanise(cp.kind.value).capitalize()}; {source[cp.source.value]}."
        entries.append(item(cp, text, title=cp.name, details=details))
    return _items(sec, entries)


def _purposes(doc: PolicyDocument) -> Section:
    sec = Section("why", "Why we use it and on which legal basis")
    entries = []
    for pur in doc.policy.purposes:
        details = [
            f"Legal basis: {L.purpose_basis(doc, pur, article=True)}",
            f"Data used: {L.categories(doc, pur.categories)}",
        ]
        if pur.subjects:
            details.append(f"Whose data: {L.subjects(doc, pur.subjects)}")
        if pur.role is m.ProcessingRole.processor:
            whom = L.join(pur.controllers, empty="the businesses that use our service")
            details.append(
                f"We process this data on behalf of {whom}, who decide why and how it is used: "
                "to exercise your rights over it, contact them (we pass on requests we receive)"
            )
        text = pur.description or L.use(doc, pur.use)
        entries.append(item(pur, text, title=pur.name, details=details))
    return _items(sec, entries)


def _consents(doc: PolicyDocument) -> Section:
    sec = Section("consent", "Your consent and how to withdraw it")
    entries = []
    for c in doc.policy.consents:
        details = [
            f"Used for: {L.purposes(doc, c.purposes)}",
            f"How you give it: {L.humanise(c.mechanism.value)}"
            + (f" ({_channel(doc, c.channel)})" if c.channel else ""),
            f'What we ask (notice version {c.notice.version}): "{c.notice.text}"',
            "Given by default: " + ("yes" if c.default else "no, only when you opt in"),
            f"How to withdraw: {c.withdrawal or L.NOT_STATED}",
        ]
        if c.notice.url:
            details.append(f"Full notice: {c.notice.url}")
        if c.expires_after:
            details.append(f"Asked again after: {c.expires_after}")
        entries.append(
            item(c, "You can withdraw this consent at any time.", title=c.name, details=details)
        )
    return _items(sec, entries)


def _channel(doc: PolicyDocument, cid: str) -> str:
    cp = next((c for c in doc.policy.collection_points if c.id == cid), None)
    return cp.name if cp else cid


def _recipients(doc: PolicyDocument) -> Section:
    sec = Section("recipients", "Who receives your data")
    entries = []
    for r in doc.policy.recipients:
        details = [f"Data: {L.categories(doc, r.categories)}"]
        if r.purposes:
            details.append(f"For: {L.purposes(doc, r.purposes)}")
        if r.legal_request_required:
            details.append("Only when a valid legal request requires it.")
        if r.country:
            details.append(f"Located in: {r.country}; safeguards: {r.safeguards or L.NOT_STATED}")
        text = r.description or L.humanise(r.type.value).capitalize()
        entries.append(
            item(r, text, title=f"{r.name} ({L.humanise(r.type.value)})", details=details)
        )
    return _items(sec, entries)


def _retention(doc: PolicyDocument) -> Section:
    sec = Section("retention", "How long we keep it")
    rows: list[Row] = []
    for rule in doc.policy.retention:
        rows.append(
            row(
                rule,
                [
                    L.retention_name(doc, rule),
                    L.categories(doc, rule.categories),
                    L.retention_period(rule),
                    "; ".join(_hold(h) for h in rule.legal_holds) or "none",
                ],
            )
        )
        rows += [
            row(
                h,
                [
                    f"{L.retention_name(doc, rule)}: legal hold {h.id}",
                    L.categories(doc, h.categories or rule.categories),
                    L.duration(h.period),
                    h.law or L.NOT_STATED,
                ],
            )
            for h in rule.legal_holds
            if h.promises or h.assumptions or h.note
        ]
    if not rows:
        return sec.para(NONE_DECLARED)
    sec.para(
        "We keep personal data only as long as stated below. Where a period is "
        "'not stated', the published policy gives none."
    )
    return sec.add(
        Table(
            "How long each kind of data is kept",
            ["What", "Data", "Kept for", "Kept longer when the law requires"],
            rows,
        )
    )


def _hold(h: m.LegalHold) -> str:
    law = f" under {h.law}" if h.law else ""
    return f"{L.duration(h.period)}{law}: {h.reason}"


def _cookies(doc: PolicyDocument) -> Section:
    sec = Section("cookies", "Cookies and similar technologies")
    ck = doc.policy.cookies
    if ck is None:
        return sec.para(NONE_DECLARED)
    how = {
        "banner": "You choose which non-essential cookies we set in the cookie banner.",
        "browser_settings": "You control cookies through your browser settings.",
        "none": "The policy offers no cookie preferences.",
    }
    sec.add(Para(item(ck, how[ck.preferences.value])))
    rows = [
        row(
            c,
            [
                c.name,
                L.humanise(c.category.value),
                c.description or L.NOT_STATED,
                L.duration(c.lifetime),
                "us (first party)" if c.provider == "first_party" else c.provider,
            ],
        )
        for c in ck.items
    ]
    if rows:
        sec.add(
            Table(
                "Cookies we use", ["Cookie", "Category", "What it does", "Lifetime", "Set by"], rows
            )
        )
    return sec


def _restricted(doc: PolicyDocument) -> Section:
    sec = Section("restricted-sources", "Data from other services")
    entries = []
    for rs in doc.policy.restricted_sources:
        details = [f"Data: {L.categories(doc, rs.categories)}"]
        if rs.scopes:
            details.append(f"Access requested: {', '.join(rs.scopes)}")
        details.append(
            {
                "none": "We do not store this data.",
                "transient": "We keep it only briefly while processing your request.",
                "durable": "We store this data.",
            }[rs.storage.value]
        )
        if rs.on_user_request_only:
            details.append("We process it only when you ask us to.")
        if rs.allowed_purposes:
            details.append(f"Used only for: {L.purposes(doc, rs.allowed_purposes)}")
        if rs.forbidden_uses:
            details.append("Never used for: " + L.join(L.use(doc, u) for u in rs.forbidden_uses))
        text = f"Data from {rs.provider}"
        if rs.program_policy:
            limited = ", including the Limited Use requirements" if rs.limited_use else ""
            text += f", used in line with the {rs.program_policy}{limited}."
        entries.append(item(rs, text, title=rs.name, details=details))
    return _items(sec, entries)


def _commitments(doc: PolicyDocument) -> Section:
    sec = Section("commitments", "What we never do")
    return _items(sec, [item(c, c.text) for c in doc.policy.commitments])


def _security(doc: PolicyDocument) -> Section:
    sec = Section("security", "How we protect your data")
    return _items(
        sec,
        [
            item(s, s.description, title=f"{s.kind.capitalize()} measure")
            for s in doc.policy.security
        ],
    )


def _rights(doc: PolicyDocument) -> Section:
    sec = Section("rights", "Your rights")
    entries = [
        item(
            r,
            f"How: {r.channel}" + (f" ({r.contact})" if r.contact else ""),
            title=L.RIGHT[r.right.value],
        )
        for r in doc.policy.rights
    ]
    return _items(sec, entries)


def _changes(doc: PolicyDocument) -> Section:
    meta = doc.policy.policy
    ch = meta.changes
    sec = Section("changes", "Changes to this policy")
    text = {
        "prior_notice": "We tell you before changes take effect"
        + (f" ({ch.notice_period} in advance)" if ch.notice_period else "")
        + ".",
        "on_publication": "Changes take effect when we publish them.",
        "no_notice": "Changes may take effect without notice.",
        "unspecified": "The policy does not say how changes are announced.",
    }[ch.notice.value]
    if ch.channels:
        text += f" We announce them by: {', '.join(ch.channels)}."
    sec.add(Para(item(ch, text)))
    sec.para(f"This is version {meta.version}.")
    if meta.changelog:
        rows = [Row([e.version, e.date.isoformat(), "; ".join(e.changes)]) for e in meta.changelog]
        sec.add(Table("Changelog", ["Version", "Date", "Changes"], rows))
    return sec

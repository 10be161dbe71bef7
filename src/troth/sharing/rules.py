"""What the policy lets a recipient receive for a purpose: a :class:`Rule` per (recipient, purpose,
source table), compiled once from the policy and the data map.

A field may leave when it has categories and every one of them is covered by the recipient's
categories (``all`` covers every category), by the purpose's categories (a purpose that lists none
does not narrow), and by the categories a legal request's basis covers (when it names any). A field
without categories (an id, a company name) or unknown to the data map never leaves. Without a source
table, a field name carries every category the map gives that name in any table (the strictest
reading).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from troth.datamap.model import DataMap
from troth.errors import DisclosureRefusedError, UnknownNameError, did_you_mean
from troth.policy.model import CommitmentKind, Policy, Purpose, Recipient
from troth.policy.taxonomy import covered_by_any

_ID = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f]")
#: identities in the order one is picked as the disclosure's subject
_IDENTITY_ORDER = ("email", "phone", "user_id")


def shown(name: str) -> str:
    """The name as given when it is an id, else a placeholder (never echo arbitrary input)."""
    return repr(name) if isinstance(name, str) and _ID.match(name) else "(not an id)"


@dataclass(frozen=True)
class LegalRequest:
    """A request from an authority (PL-9): who asks, on which legal basis, and what it covers.

    ``categories``: what the request's basis covers; empty means all the recipient may receive.
    """

    authority: str
    basis: str
    reference: str | None = None
    categories: tuple[str, ...] = ()
    #: the recorded request (:mod:`troth.sharing.legal`); a disclosure needs it approved
    id: str | None = None
    confidential: bool = False

    def __post_init__(self) -> None:
        for name in ("authority", "basis", "reference"):
            value = getattr(self, name)
            if value is None and name == "reference":
                continue
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise DisclosureRefusedError(
                    f"a legal request needs its {name} as 1-200 characters of text",
                    where=f"legal_request.{name}",
                    fix="name the authority and the law or order the request rests on",
                )
            if _BAD_TEXT.search(value):
                raise DisclosureRefusedError(
                    f"the legal request's {name} holds a control character",
                    where=f"legal_request.{name}",
                    fix="pass plain text",
                )


@dataclass(frozen=True, slots=True)
class Shape:
    """What a record with these field names becomes: the fields kept and withheld, the categories
    and field names recorded, and the fields that identify the person (field, identity name)."""

    keep: tuple[str, ...]
    withheld: tuple[str, ...]
    categories: str
    fields: str
    identities: tuple[tuple[str, str], ...]
    split: tuple[str, ...]


class Rule:
    """One (recipient, purpose, source) compiled; :meth:`shape` is cached per record shape."""

    def __init__(
        self,
        recipient: Recipient,
        purpose: Purpose,
        source: str | None,
        field_categories: Mapping[str, tuple[str, ...]],
        identity_fields: Mapping[str, str],
        legal: LegalRequest | None,
    ) -> None:
        self.recipient = recipient
        self.purpose = purpose
        self.source = source
        self.legal = legal
        self._field_categories = field_categories
        self._identity_fields = identity_fields
        self._shapes: dict[tuple[str, ...], Shape] = {}

    def allows_category(self, key: str) -> bool:
        r_cats = self.recipient.categories
        if r_cats != "all" and not covered_by_any(key, r_cats):
            return False
        if self.purpose.categories and not covered_by_any(key, self.purpose.categories):
            return False
        return not (self.legal and self.legal.categories) or covered_by_any(
            key, self.legal.categories
        )

    def allows_field(self, name: str) -> bool:
        cats = self._field_categories.get(name, ())
        return bool(cats) and all(self.allows_category(c) for c in cats)

    def shape(self, names: tuple[str, ...]) -> Shape:
        found = self._shapes.get(names)
        if found is None:
            found = self._shapes[names] = self._shape(names)
        return found

    def _shape(self, names: tuple[str, ...]) -> Shape:
        keep = tuple(n for n in names if self.allows_field(n))
        withheld = tuple(n for n in names if n not in keep)
        cats = sorted({c for n in keep for c in self._field_categories[n]})
        ids = [(n, self._identity_fields[n]) for n in names if n in self._identity_fields]
        rank = {name: i for i, name in enumerate(_IDENTITY_ORDER)}
        ids.sort(key=lambda fi: (rank.get(fi[1], len(rank)), fi[1], fi[0]))
        return Shape(
            keep, withheld, " ".join(cats), " ".join(sorted(keep)), tuple(ids), tuple(cats)
        )


class Rules:
    """The rules of one policy and data map; refuses what the policy does not declare."""

    def __init__(self, policy: Policy, datamap: DataMap) -> None:
        self.policy = policy
        self.datamap = datamap
        self.recipients = {r.id: r for r in policy.recipients}
        self._cache: dict[tuple[str, str, str | None, LegalRequest | None], Rule] = {}

    def rule(
        self,
        recipient: str,
        purpose: str,
        source: str | None = None,
        legal: LegalRequest | None = None,
    ) -> Rule:
        key = (recipient, purpose, source, legal)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._compile(recipient, purpose, source, legal)
        return found

    def _compile(
        self, recipient: str, purpose: str, source: str | None, legal: LegalRequest | None
    ) -> Rule:
        rec = self._recipient(recipient)
        pur = self._purpose(rec, purpose)
        if rec.legal_request_required and legal is None:
            raise DisclosureRefusedError(
                f"recipient {rec.id!r} may receive data only on a legal request",
                where="legal_request",
                fix="record the authority and the legal basis of the request (legal_request)",
            )
        if legal is not None:
            self._check_categories(legal.categories)
        source_name, cats, ids = self._fields(source)
        return Rule(rec, pur, source_name, cats, ids, legal)

    def _recipient(self, name: str) -> Recipient:
        rec = self.recipients.get(name)
        if rec is not None:
            return rec
        if not self.recipients:
            promise = any(
                c.kind is CommitmentKind.no_third_party_sharing for c in self.policy.commitments
            )
            raise DisclosureRefusedError(
                "the policy declares no recipient, so no data may be disclosed to anyone"
                + (" (it commits to no third-party sharing)" if promise else ""),
                where="policy.recipients",
                fix="keep the data in house, or declare the recipient in the policy first",
            )
        hint = did_you_mean(name, self.recipients) if _ID.match(name or "") else ""
        raise DisclosureRefusedError(
            f"recipient {shown(name)} is not declared by the policy{hint}",
            where="recipient",
            fix=f"use one of: {', '.join(sorted(self.recipients))}",
        )

    def _purpose(self, rec: Recipient, name: str) -> Purpose:
        pur = self.policy.purpose(name) if name in rec.purposes else None
        if pur is not None:
            return pur
        declared = ", ".join(rec.purposes)
        raise DisclosureRefusedError(
            f"the policy does not let recipient {rec.id!r} receive data for purpose {shown(name)}",
            where="purpose",
            fix=f"use one of: {declared}"
            if declared
            else "the policy declares no purpose for this recipient; declare one first",
        )

    def _check_categories(self, keys: Sequence[str]) -> None:
        for key in keys:
            if not isinstance(key, str) or not re.match(r"^[a-z][a-z0-9_.]{0,199}$", key):
                raise DisclosureRefusedError(
                    "a legal request's categories must be category keys",
                    where="legal_request.categories",
                    fix="e.g. user.contact.address",
                )

    def _fields(
        self, source: str | None
    ) -> tuple[str | None, dict[str, tuple[str, ...]], dict[str, str]]:
        cats: dict[str, tuple[str, ...]] = {}
        ids: dict[str, str] = {}
        if source is None:
            for _ds, _t, f in self.datamap.fields():
                cats[f.name] = tuple(sorted({*cats.get(f.name, ()), *f.categories}))
                if f.identity and f.name not in ids:
                    ids[f.name] = f.identity
            return None, cats, ids
        tables = [
            (ds, t) for ds, t in self.datamap.tables() if source in (t.name, f"{ds.name}.{t.name}")
        ]
        if len(tables) != 1:
            valid = sorted(f"{ds.name}.{t.name}" for ds, t in self.datamap.tables())
            raise UnknownNameError(
                "source table" if not tables else "source table (name it dataset.table)",
                source,
                valid,
                where="table",
            )
        ds, table = tables[0]
        for f in table.fields:
            cats[f.name] = tuple(f.categories)
            if f.identity:
                ids[f.name] = f.identity
        return f"{ds.name}.{table.name}", cats, ids

"""The effective erasure action of every personal field: safe by construction.

A personal field (a ``user.*`` category or an identity, on a column or at a JSON path) is never
silently left out of an erasure. Its action is, in this order:

1. ``keep``: a legal hold of its table or of the field keeps it (until the hold ends);
2. ``delete_row``: its table is erased by deleting rows (rows that other, kept rows still point at
   are masked instead, with the masks below);
3. ``mask`` with the strategy the map names (``mask:``), else the one the policy declares for the
   field's category family (``data_categories: [{key: user.contact, erasure: redact}]``), else
   troth's default for the family (:data:`DEFAULTS`): e-mail addresses and ids a keyed hash, numbers
   and dates ``auto_null`` (NULL where the column allows it, else ``redact`` on a text column),
   names and free text ``auto`` (``redact`` on a text column, NULL on any other), decided from the
   live column;
4. ``key``: a primary key or a reference column that only links rows (``user.unique_id``): it is
   kept, the row it points at is erased.

A field that can have none of these (a personal primary key or a personal reference of a masked
table: masking it would break the key) is a *problem*: ``troth check`` reports it as an error and
an erasure refuses before its first write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from troth.datamap.model import (
    EraseAction,
    JsonPath,
    LegalHold,
    MapField,
    Table,
    is_personal_category,
)

Action = Literal["mask", "delete_row", "keep", "key"]

#: troth's default strategy per category family (the longest matching prefix wins)
DEFAULTS: dict[str, str] = {
    "user.contact.email": "hash",
    "user.unique_id": "hash",
    "user.account.username": "hash",
    "user.contact.phone_number": "auto_null",
    "user.contact.fax_number": "auto_null",
    "user.device": "auto_null",
    "user.demographic.date_of_birth": "auto_null",
    "user.demographic.age_range": "auto_null",
    "user.location": "auto_null",
    "user.financial": "auto_null",
    "user.payment": "auto_null",
    "user.government_id": "auto_null",
    "user": "auto",
}
#: identities whose kind implies a category for the default (an identity field without categories)
_IDENTITY_CATEGORY = {"email": "user.contact.email", "phone": "user.contact.phone_number"}
_KEY_CATEGORIES = ("user.unique_id",)


@dataclass(frozen=True)
class FieldAction:
    """What erasure does to one personal field (``path`` set for a value inside a JSON column)."""

    field: str
    action: Action | None
    strategy: str | None = None  # mask strategy (also the fallback of delete_row)
    source: str = ""  # map, policy, default, hold, key
    hold: str | None = None
    until: str | None = None  # the hold's end ("10 years since issued_at"), None: until removed
    path: tuple[str, ...] = ()
    array: bool = False
    problem: str | None = None

    @property
    def address(self) -> str:
        if not self.path:
            return self.field
        return f"{self.field}:{'.'.join(self.path)}{'[]' if self.array else ''}"

    def describe(self) -> str:
        if self.problem:
            return f"none ({self.problem})"
        if self.action == "keep":
            if not self.until:
                return f"keep (hold {self.hold}, until removed)"
            then = "delete row" if self.source == "hold:delete_row" else f"mask: {self.strategy}"
            return f"keep (hold {self.hold} for {self.until}), then {then}"
        if self.action == "delete_row":
            return f"delete row (else mask: {self.strategy})"
        if self.action == "key":
            return "kept as a link key"
        return f"mask: {self.strategy}"


def strategy_for(
    categories: Iterable[str],
    explicit: str | None,
    policy_defaults: Mapping[str, str],
    identity: str | None = None,
) -> tuple[str, str]:
    """``(strategy, source)`` for a field's categories: the map's, the policy's, troth's."""
    if explicit:
        return explicit, "map"
    cats = [c for c in categories if is_personal_category(c)]
    if not cats and identity in _IDENTITY_CATEGORY:
        cats = [_IDENTITY_CATEGORY[identity]]
    for table, source in ((policy_defaults, "policy"), (DEFAULTS, "default")):
        best: tuple[int, str] | None = None
        for cat in cats or ["user"]:
            for prefix, strategy in table.items():
                if (cat == prefix or cat.startswith(prefix + ".")) and (
                    best is None or len(prefix) > best[0]
                ):
                    best = (len(prefix), strategy)
        if best is not None:
            return best[1], source
    return "auto", "default"


def policy_erasure_defaults(data_categories: Iterable[object]) -> dict[str, str]:
    """``{category key: strategy}`` from the policy's ``data_categories`` that declare one."""
    out: dict[str, str] = {}
    for cat in data_categories:
        erasure = getattr(cat, "erasure", None)
        if erasure:
            out[str(getattr(cat, "key", ""))] = str(erasure)
    return out


def field_actions(table: Table, policy_defaults: Mapping[str, str]) -> list[FieldAction]:
    """The effective action of every personal field (and JSON path) of ``table``."""
    out: list[FieldAction] = []
    table_hold = table.legal_holds[0] if table.legal_holds else None
    for f in table.fields:
        if f.identity or any(is_personal_category(c) for c in f.categories):
            out.append(_column_action(table, f, table_hold, policy_defaults))
        for jp in f.json_paths:
            if jp.identity or any(is_personal_category(c) for c in jp.categories):
                out.append(_json_action(table, f, jp, table_hold, policy_defaults))
    return out


def _column_action(
    table: Table, f: MapField, table_hold: LegalHold | None, defaults: Mapping[str, str]
) -> FieldAction:
    hold = table_hold or (f.legal_holds[0] if f.legal_holds else None)
    strategy, source = strategy_for(
        f.categories, f.mask.value if f.mask else None, defaults, f.identity
    )
    if hold:
        then = "hold:delete_row" if table.erase is EraseAction.delete_row else "hold"
        return FieldAction(f.name, "keep", strategy, then, hold.id, hold.for_)
    is_key = f.primary_key or bool(f.references)
    only_link = all(c.startswith(_KEY_CATEGORIES) for c in f.categories if is_personal_category(c))
    if table.erase is EraseAction.delete_row:
        if is_key:
            return FieldAction(f.name, "key", None, "key")
        return FieldAction(f.name, "delete_row", strategy, source)
    if is_key:
        if only_link and not f.identity:
            return FieldAction(f.name, "key", None, "key")
        what = "primary key" if f.primary_key else "reference"
        return FieldAction(
            f.name,
            None,
            problem=f"a personal {what} cannot be masked without breaking the rows' links",
        )
    return FieldAction(f.name, "mask", strategy, source)


def _json_action(
    table: Table,
    f: MapField,
    jp: JsonPath,
    table_hold: LegalHold | None,
    defaults: Mapping[str, str],
) -> FieldAction:
    hold = table_hold or (f.legal_holds[0] if f.legal_holds else None)
    strategy, source = strategy_for(
        jp.categories, jp.mask.value if jp.mask else None, defaults, jp.identity
    )
    if strategy == "auto":
        strategy = "redact"  # a JSON value masked in place stays a JSON string
    if hold:
        return FieldAction(
            f.name, "keep", strategy, "hold", hold.id, hold.for_, jp.keys, jp.is_array
        )
    action: Action = "mask"
    if table.erase is EraseAction.delete_row and not (jp.is_array and jp.identity):
        action = "delete_row"
    return FieldAction(f.name, action, strategy, source, path=jp.keys, array=jp.is_array)


def problems(table: Table, policy_defaults: Mapping[str, str]) -> list[FieldAction]:
    return [a for a in field_actions(table, policy_defaults) if a.problem]

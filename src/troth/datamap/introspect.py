"""A skeleton data map from a live schema: tables, columns, keys; categories guessed from names.

Only the schema is read, never a row. Foreign keys become references (``direction: from``: the
parent's key finds the child rows). Columns whose names suggest personal data get a category and
``guess: true``; the email/phone columns of the main person table become identities. A person
reviews the guesses and removes the ``guess`` marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.connectors.base import SchemaInfo, TableInfo
from troth.datamap.model import DataMap, Dataset, MapField, Reference, RefKind, System, Table


@dataclass(frozen=True)
class Guess:
    category: str | None = None
    retention_timestamp: bool = False


# (pattern on the lower-case column name, guess); first match wins
_RULES: list[tuple[str, Guess]] = [
    (r"(^|_)e_?mail(_address)?$", Guess("user.contact.email")),
    (r"(^|_)(phone|tel|telephone|mobile)(_number|_no)?$", Guess("user.contact.phone_number")),
    (r"(^|_)(first|given)_?name$", Guess("user.name.first")),
    (r"(^|_)(last|family|sur)_?name$", Guess("user.name.last")),
    (r"(^|_)middle_?name$", Guess("user.name")),
    (r"^(full_?name|display_name|name_of_person)$", Guess("user.name")),
    (r"(^|_)ip(_addr|_address)?$", Guess("user.device.ip_address")),
    (r"(^|_)(street|address|address_line_?\d?)$", Guess("user.contact.address.street")),
    (r"(^|_)city$", Guess("user.contact.address.city")),
    (r"(^|_)(zip|zip_code|postcode|postal_code)$", Guess("user.contact.address.postal_code")),
    (r"(^|_)(state|province|region)$", Guess("user.contact.address.state")),
    (r"(^|_)country(_code)?$", Guess("user.contact.address.country")),
    (
        r"(^|_)(password|passwd|pass_hash|password_hash|pwd)$",
        Guess("user.authorization.credentials"),
    ),
    (r"(^|_)(dob|birth_?date|date_of_birth|birthday)$", Guess("user.demographic.date_of_birth")),
    (r"(^|_)(gender|sex)$", Guess("user.demographic.gender")),
    (r"(^|_)(username|user_name|login)$", Guess("user.account.username")),
    (
        r"^(created_at|created|updated_at|modified_at|last_login|last_login_at|last_seen)$",
        Guess(retention_timestamp=True),
    ),
]

#: table names that usually hold the people a request is about, most likely first
_PERSON_TABLES = (
    "users",
    "user",
    "customers",
    "customer",
    "accounts",
    "account",
    "people",
    "persons",
    "person",
    "members",
    "member",
    "profiles",
    "contacts",
)


def guess_column(name: str) -> Guess | None:
    """The guess for a column name, or None when the name suggests nothing."""
    low = name.lower()
    for pattern, guess in _RULES:
        if re.search(pattern, low):
            return guess
    return None


def main_person_table(schema: SchemaInfo) -> TableInfo | None:
    """The table people are most likely registered in: it has an email column; a person-like
    name wins, then the most foreign keys pointing at it."""
    with_email = [
        t for t in schema.tables if any(guess_column(c.name) == _RULES[0][1] for c in t.columns)
    ]
    if not with_email:
        return None
    incoming = {t.name: 0 for t in with_email}
    for t in schema.tables:
        for fk in t.foreign_keys:
            if fk.ref_table in incoming:
                incoming[fk.ref_table] += 1

    def rank(t: TableInfo) -> tuple[int, int, str]:
        by_name = _PERSON_TABLES.index(t.name.lower()) if t.name.lower() in _PERSON_TABLES else 99
        return by_name, -incoming[t.name], t.name

    return min(with_email, key=rank)


def skeleton(
    schema: SchemaInfo, *, dataset: str, connection: str, system: str | None = None
) -> DataMap:
    """A data map for one dataset, from its schema (with guesses marked)."""
    person = main_person_table(schema)
    tables = []
    for t in schema.tables:
        refs: dict[str, list[Reference]] = {}
        for fk in t.foreign_keys:
            for col, ref_col in zip(fk.columns, fk.ref_columns, strict=False):
                refs.setdefault(col, []).append(
                    Reference(field=f"{dataset}.{fk.ref_table}.{ref_col}", kind=RefKind.owns)
                )
        fields = []
        stamp = next(
            (c.name for c in t.columns if (g := guess_column(c.name)) and g.retention_timestamp),
            None,
        )
        for c in t.columns:
            g = guess_column(c.name)
            if g and g.retention_timestamp and c.name != stamp:
                g = None  # one retention timestamp candidate per table: the first
            identity = None
            if (
                person is t
                and g
                and g.category in ("user.contact.email", "user.contact.phone_number")
            ):
                identity = "email" if g.category == "user.contact.email" else "phone"
            fields.append(
                MapField(
                    name=c.name,
                    data_type=c.type,
                    primary_key=c.name in t.primary_key,
                    references=refs.get(c.name, []),
                    categories=[g.category] if g and g.category else [],
                    retention_timestamp=bool(g and g.retention_timestamp),
                    identity=identity,
                    guess=bool(g),
                )
            )
        tables.append(Table(name=t.name, fields=fields))
    ds = Dataset(name=dataset, connection=connection, tables=tables)
    return DataMap(systems=[System(name=system or dataset, datasets=[ds])])

"""The data map model's SQL side: datasets, their tables and fields, references and holds.

See :mod:`troth.datamap.model`, the one place to import the data map model from.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from troth.datamap.model_base import (
    JSON_PATH,
    Connected,
    EraseAction,
    Id,
    MaskStrategy,
    Match,
    Name,
    Node,
    RefKind,
    RefTarget,
    as_list,
    is_personal_category,
    mask_none_is_null,
)
from troth.policy.duration import Duration, parse_duration
from troth.policy.model import CategoryKey, LegalBasis, SubjectKey

_FOR = re.compile(
    r"^\s*(?P<period>.+?)\s+since\s+"
    r"(?P<column>([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*)\s*$"
)


class LegalHold(Node):
    """Data that erasure and retention keep, and why (e.g. invoices kept for tax law).

    ``for: 10 years since issued_at`` ends the hold: once that column is older than the period,
    the rows are treated like any other. The column can be in a table this one references
    (``10 years since orders.created_at`` on invoice lines). Without ``for``, the hold lasts until
    it is removed.
    """

    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    id: Id
    reason: str
    basis: LegalBasis = LegalBasis.legal_obligation
    law: str | None = None
    #: free text describing the period (informative; ``for`` is what troth enforces)
    period: str | None = None
    for_: str | None = Field(default=None, alias="for")

    @field_validator("for_")
    @classmethod
    def _parse_for(cls, value: str | None) -> str | None:
        if value is None:
            return None
        m = _FOR.match(value)
        if m is None:
            raise ValueError(
                "`for` is written '<period> since <column>', e.g. '10 years since issued_at'"
            )
        parse_duration(m["period"])  # raises with the valid forms
        return value

    def ends(self) -> tuple[Duration, str] | None:
        """``(period, column)`` when the hold ends, or None when it lasts until removed."""
        if self.for_ is None:
            return None
        m = _FOR.match(self.for_)
        assert m is not None
        return parse_duration(m["period"]), m["column"]


class Reference(Node):
    """A link from this field to another field (a foreign key or an undeclared link)."""

    field: RefTarget
    kind: RefKind = RefKind.refers
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_direction(cls, data: Any) -> Any:
        if isinstance(data, dict) and "direction" in data:
            raise ValueError(
                "`direction` was replaced by `kind` (owns, link, same_person, refers), which says "
                "whether a request may follow the reference; run `troth datamap migrate` on the "
                "file, then review each reference it marks"
            )
        return data

    def target(self, dataset: str) -> tuple[str, str, str]:
        """``(dataset, table, field)``; a two-part target is in ``dataset``."""
        parts = self.field.split(".")
        if len(parts) == 2:
            return dataset, parts[0], parts[1]
        return parts[0], parts[1], parts[2]


class JsonPath(Node):
    """A value inside a JSON column: ``a.b`` (an object member) or ``a.b[]`` (array elements).

    An identity at an array path (``cc[]``) *mentions* a person: erasure masks only the elements
    that are the person's, access exports only those; the row itself is not theirs. An identity at
    a member path identifies the row's person like a column does.
    """

    path: Annotated[str, Field(pattern=JSON_PATH, max_length=300)]
    label: str | None = None
    categories: Annotated[list[CategoryKey], BeforeValidator(as_list)] = Field(default_factory=list)
    identity: Id | None = None
    mask: MaskStrategy | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_mask(cls, data: Any) -> Any:
        return mask_none_is_null(data)

    @property
    def is_array(self) -> bool:
        return self.path.endswith("[]")

    @property
    def keys(self) -> tuple[str, ...]:
        """The member names from the column's root (without the ``[]``)."""
        return tuple(self.path.removesuffix("[]").split("."))


class MapField(Node):
    """One column (or document field)."""

    name: Name
    label: str | None = None
    description: str | None = None
    categories: Annotated[list[CategoryKey], BeforeValidator(as_list)] = Field(default_factory=list)
    subject: SubjectKey | None = None
    identity: Id | None = None
    match: Match = Match.normalise
    references: list[Reference] = Field(default_factory=list)
    primary_key: bool = False
    retention_timestamp: bool = False
    mask: MaskStrategy | None = None
    legal_holds: list[LegalHold] = Field(default_factory=list)
    json_paths: list[JsonPath] = Field(default_factory=list, alias="json")
    data_type: str | None = None
    guess: bool = False
    #: free text: requests find (access) and redact (erasure) the person's identifiers written in
    #: it, in other people's rows too
    free_text: bool = False

    model_config = ConfigDict(
        defer_build=True, extra="forbid", str_strip_whitespace=True, populate_by_name=True
    )

    @model_validator(mode="before")
    @classmethod
    def _null_mask(cls, data: Any) -> Any:
        return mask_none_is_null(data)

    def is_personal(self) -> bool:
        """A ``user`` category or an identity, on the column or at one of its JSON paths."""
        if self.identity or any(is_personal_category(c) for c in self.categories):
            return True
        return any(
            p.identity or any(is_personal_category(c) for c in p.categories)
            for p in self.json_paths
        )


WhereValue = str | int | float | bool | None | list[str | int | float | bool]


class TableRetention(Node):
    """Which rows of the table retention rules apply to: ``where: {status: closed}``.

    ``rule`` names one rule (all rules that cover the table when unset). ``where`` maps a column
    of the table to a value, a list of values (any of them), or null (the column is NULL).
    """

    rule: Id | None = None
    where: dict[Name, WhereValue] = Field(min_length=1)


class Table(Node):
    """A table (or collection) and its fields.

    ``scope`` maps a scope name to the column that holds it (``{tenant: tenant_id}``): a request
    that names the scope touches only the table's rows in it.
    """

    name: Name
    label: str | None = None
    description: str | None = None
    subject: SubjectKey | None = None
    erase: EraseAction = EraseAction.mask
    scope: dict[Id, Name] = Field(default_factory=dict)
    legal_holds: list[LegalHold] = Field(default_factory=list)
    retention: list[TableRetention] = Field(default_factory=list)
    fields: list[MapField] = Field(default_factory=list)

    def field(self, name: str) -> MapField | None:
        return next((f for f in self.fields if f.name == name), None)

    def categories(self) -> list[str]:
        return list(dict.fromkeys(c for f in self.fields for c in f.categories))

    def retention_fields(self) -> list[MapField]:
        return [f for f in self.fields if f.retention_timestamp]

    def primary_key(self) -> list[str]:
        return [f.name for f in self.fields if f.primary_key]


class Dataset(Connected):
    """One data store, reached through a named connection."""

    tables: list[Table] = Field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


class System(Node):
    """An application or service that owns datasets."""

    name: Id
    description: str | None = None
    datasets: list[Dataset] = Field(default_factory=list)

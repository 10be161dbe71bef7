"""The data map model: which store, table and column holds which category of whose data.

A data map lists *systems*; a system holds *datasets* (one store each, reached through a named
connection); a dataset holds *tables* (SQL tables, document collections...); a table holds
*fields*. Fields say what they hold (data categories, data subject), how they identify a person
(``identity``), how they link to other fields (``references``, including links the store does not
declare as foreign keys), how they are erased (``mask``) and what must be kept (``legal_holds``).

A planner builds the identity/reference graph from it (:mod:`troth.datamap.graph`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from troth.policy.model import CategoryKey, LegalBasis, SubjectKey

Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$", max_length=128)]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
#: ``dataset.table.field`` or, within the same dataset, ``table.field``
RefTarget = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){1,2}$", max_length=400),
]

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@", re.IGNORECASE)


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class MaskStrategy(StrEnum):
    """How a field is erased when its row is kept (``delete_row`` is a table-level action)."""

    null = "null"
    redact = "redact"
    hash = "hash"
    fake = "fake"


class EraseAction(StrEnum):
    """What erasure does to a table's rows: mask the fields, or delete the rows."""

    mask = "mask"
    delete_row = "delete_row"


class Direction(StrEnum):
    """Which way a reference is traversed (the Fides meaning).

    ``from``: values of the referenced field find rows of this table;
    ``to``: values of this field find rows of the referenced table; unset: both ways.
    """

    from_ = "from"
    to = "to"


class Node(BaseModel):
    """Common configuration of the data map elements."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _path: tuple[str | int, ...] = PrivateAttr(default=())


class LegalHold(Node):
    """Data that erasure keeps, and why (e.g. invoices kept for tax law)."""

    id: Id
    reason: str
    basis: LegalBasis = LegalBasis.legal_obligation
    law: str | None = None
    period: str | None = None


class Reference(Node):
    """A link from this field to another field (a foreign key or an undeclared link)."""

    field: RefTarget
    direction: Direction | None = None
    note: str | None = None

    def target(self, dataset: str) -> tuple[str, str, str]:
        """``(dataset, table, field)``; a two-part target is in ``dataset``."""
        parts = self.field.split(".")
        if len(parts) == 2:
            return dataset, parts[0], parts[1]
        return parts[0], parts[1], parts[2]


class MapField(Node):
    """One column (or document field)."""

    name: Name
    description: str | None = None
    categories: Annotated[list[CategoryKey], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
    subject: SubjectKey | None = None
    identity: Id | None = None
    references: list[Reference] = Field(default_factory=list)
    primary_key: bool = False
    retention_timestamp: bool = False
    mask: MaskStrategy | None = None
    legal_holds: list[LegalHold] = Field(default_factory=list)
    data_type: str | None = None
    guess: bool = False

    @model_validator(mode="before")
    @classmethod
    def _null_mask(cls, data: Any) -> Any:
        # YAML reads `mask: null` as a null value: it names the null strategy, not "no mask"
        if isinstance(data, dict) and "mask" in data and data["mask"] is None:
            return {**data, "mask": "null"}
        return data


class Table(Node):
    """A table (or collection) and its fields."""

    name: Name
    description: str | None = None
    subject: SubjectKey | None = None
    erase: EraseAction = EraseAction.mask
    legal_holds: list[LegalHold] = Field(default_factory=list)
    fields: list[MapField] = Field(default_factory=list)

    def field(self, name: str) -> MapField | None:
        return next((f for f in self.fields if f.name == name), None)

    def categories(self) -> list[str]:
        return list(dict.fromkeys(c for f in self.fields for c in f.categories))

    def retention_fields(self) -> list[MapField]:
        return [f for f in self.fields if f.retention_timestamp]

    def primary_key(self) -> list[str]:
        return [f.name for f in self.fields if f.primary_key]


class Dataset(Node):
    """One data store, reached through a named connection."""

    name: Id
    connection: str = Field(min_length=1, max_length=80)
    description: str | None = None
    tables: list[Table] = Field(default_factory=list)

    @field_validator("connection")
    @classmethod
    def _name_not_url(cls, value: str) -> str:
        # never echo the value: it may carry a password
        if _CREDENTIALS.match(value):
            raise ValueError(
                "connection holds a URL with credentials in clear text; name a connection "
                "instead and set TROTH_CONN_<NAME> in the environment (then rotate that password)"
            )
        if _URL.match(value):
            raise ValueError(
                "connection must be a name, not a URL; set the URL in the environment as "
                "TROTH_CONN_<NAME> or in the troth config file"
            )
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError("connection must be a name of lower-case letters, digits and _")
        return value

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


class System(Node):
    """An application or service that owns datasets."""

    name: Id
    description: str | None = None
    datasets: list[Dataset] = Field(default_factory=list)


class DataMap(Node):
    """A whole data map."""

    troth: Literal[1] = 1
    kind: Literal["datamap"] = "datamap"
    systems: list[System] = Field(default_factory=list)

    def datasets(self) -> Iterator[Dataset]:
        for system in self.systems:
            yield from system.datasets

    def dataset(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets() if d.name == name), None)

    def tables(self) -> Iterator[tuple[Dataset, Table]]:
        for ds in self.datasets():
            for table in ds.tables:
                yield ds, table

    def fields(self) -> Iterator[tuple[Dataset, Table, MapField]]:
        for ds, table in self.tables():
            for f in table.fields:
                yield ds, table, f

    def resolve(self, dataset: str, table: str, field: str | None = None) -> Any:
        """The table (or field) at that address, or None when it is not in the map."""
        ds = self.dataset(dataset)
        t = ds.table(table) if ds else None
        if t is None or field is None:
            return t
        return t.field(field)

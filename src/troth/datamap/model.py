"""The data map model: which store, table and column holds which category of whose data.

A data map lists *systems*; a system holds *datasets* (one store each, reached through a named
connection); a dataset holds *tables* (SQL tables, document collections...); a table holds
*fields*. Fields say what they hold (data categories, data subject), how they identify a person
(``identity``, also at a JSON path), how they link to other fields (``references`` with a
:class:`RefKind` that says whether a request follows them), how they are erased (``mask``, or
the default of their category, see :mod:`troth.datamap.erasure`) and what must be kept
(``legal_holds``, which can end). A table can be *scoped* (a tenant column: a request touches
only rows of its scope) and carry row conditions for retention.

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

from troth.datamap.services import Service
from troth.policy.duration import Duration, parse_duration
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


_JSON_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\[\])?$"


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _mask_none_is_null(data: Any) -> Any:
    # YAML reads `mask: null` as a null value: it names the null strategy, not "no mask"
    if isinstance(data, dict) and "mask" in data and data["mask"] is None:
        return {**data, "mask": "null"}
    return data


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


class RefKind(StrEnum):
    """What a reference means for a data-subject request (which way, if any, it is followed).

    Declared on the referencing field (``orders.customer_id -> customers.id``):

    ``owns``         this row belongs to the person of the referenced row: a request that reaches
                     the referenced row follows to this row (parent to child), and on from here;
    ``link``         this row is a many-to-many link: reached from the referenced row, it is erased
                     whole (deleted), and the request never walks past it to the other side;
    ``same_person``  one-to-one: both rows are about the same person; followed both ways;
    ``refers``       a plain reference (a tenant, an employee, a lookup table, merged-into):
                     never followed; only kept foreign-key safe. The default.
    """

    owns = "owns"
    link = "link"
    same_person = "same_person"
    refers = "refers"


class IdentityKind(StrEnum):
    """How an identity's values are normalised before they are matched."""

    email = "email"
    phone = "phone"
    exact = "exact"


class Match(StrEnum):
    """How an identity column is compared with a request's (normalised) value.

    ``normalise``: the column's values are normalised in the query too (the same rows on every
    engine and collation; an expression index makes it fast); ``stored``: the column already holds
    normalised values, compared as they are (a plain index serves it).
    """

    normalise = "normalise"
    stored = "stored"


class Node(BaseModel):
    """Common configuration of the data map elements."""

    # defer_build: a class's validator is built when first used, not at import; a process
    # builds the one it validates with (the policy's or the map's), not one per class
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    _path: tuple[str | int, ...] = PrivateAttr(default=())


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

    path: Annotated[str, Field(pattern=_JSON_PATH, max_length=300)]
    label: str | None = None
    categories: Annotated[list[CategoryKey], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
    identity: Id | None = None
    mask: MaskStrategy | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_mask(cls, data: Any) -> Any:
        return _mask_none_is_null(data)

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
    categories: Annotated[list[CategoryKey], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
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
        return _mask_none_is_null(data)

    def is_personal(self) -> bool:
        """A ``user`` category or an identity, on the column or at one of its JSON paths."""
        if self.identity or any(is_personal_category(c) for c in self.categories):
            return True
        return any(
            p.identity or any(is_personal_category(c) for c in p.categories)
            for p in self.json_paths
        )


def is_personal_category(key: str) -> bool:
    return key == "user" or key.startswith("user.")


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


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class KeyField(Node):
    """A field of a hash a key pattern finds: what it holds, and how erasure masks it
    (``null`` removes the field; ``redact`` and ``hash`` overwrite it)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    categories: Annotated[list[CategoryKey], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
    mask: MaskStrategy = MaskStrategy.null

    @model_validator(mode="before")
    @classmethod
    def _null_mask(cls, data: Any) -> Any:
        return _mask_none_is_null(data)

    @field_validator("mask")
    @classmethod
    def _no_fake(cls, value: MaskStrategy) -> MaskStrategy:
        if value is MaskStrategy.fake:
            raise ValueError("a hash field is masked with null, redact or hash (not fake)")
        return value


class KeyPattern(Node):
    """Keys of a key-value store found by a glob pattern holding the person's identity:
    ``session:{email}:*`` (each ``{name}`` is a request identity's value, glob-escaped).

    ``erase: delete`` removes the keys; ``erase: mask`` keeps them and masks the ``fields`` of a
    hash (the key name must then hold no personal identity: ``profile:{user_id}``).
    """

    name: Id
    pattern: Annotated[str, Field(min_length=3, max_length=500)]
    label: str | None = None
    categories: Annotated[list[CategoryKey], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
    erase: Literal["delete", "mask"] = "delete"
    fields: list[KeyField] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _has_identity(cls, value: str) -> str:
        if not _PLACEHOLDER.search(value):
            raise ValueError(
                "a key pattern names the person with an identity placeholder, "
                "e.g. session:{email}:*"
            )
        return value

    @model_validator(mode="after")
    def _mask_needs_fields(self) -> KeyPattern:
        if self.erase == "mask" and not self.fields:
            raise ValueError("`erase: mask` needs the hash `fields` to mask")
        return self

    @property
    def identities(self) -> list[str]:
        return list(dict.fromkeys(_PLACEHOLDER.findall(self.pattern)))


class KeyStore(Node):
    """A key-value store (Redis), reached through a named connection; its keys by pattern."""

    name: Id
    connection: str = Field(min_length=1, max_length=80)
    description: str | None = None
    subject: SubjectKey | None = None
    keys: list[KeyPattern] = Field(default_factory=list)

    @field_validator("connection")
    @classmethod
    def _name_not_url(cls, value: str) -> str:
        return Dataset._name_not_url(value)


class FileTable(Node):
    """Files of one shape in a folder (CSV, Parquet or NDJSON), read through DuckDB as one table:
    ``path`` is a glob relative to the connection's folder (``orders/*.parquet``); or a Delta Lake
    table (``format: delta``, ``path`` its folder), written through ``deltalake``.

    Erasure deletes the person's rows (``erase: delete_row``) or masks their personal fields
    (``null``, or ``redact`` for text); only the files holding the person's rows are rewritten.
    """

    name: Id
    path: Annotated[str, Field(min_length=1, max_length=500)]
    format: Literal["csv", "parquet", "ndjson", "delta"]
    #: Delta tables: after an erasure, vacuum files older than this many hours (0: at once), since
    #: earlier versions still hold the erased data; unset: old versions are kept (and reported)
    vacuum_hours: Annotated[int, Field(ge=0)] | None = None
    label: str | None = None
    subject: SubjectKey | None = None
    erase: EraseAction = EraseAction.mask
    fields: list[MapField] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.replace("\\", "/").split("/"):
            raise ValueError("path is a glob inside the connection's folder (no '/' or '..')")
        return value

    @model_validator(mode="after")
    def _identity_and_masks(self) -> FileTable:
        if not any(f.identity for f in self.fields):
            raise ValueError("a file table needs an identity field (e.g. identity: email)")
        for f in self.fields:
            if f.mask not in (None, MaskStrategy.null, MaskStrategy.redact):
                raise ValueError(f"field {f.name}: files are masked with null or redact")
        return self


class FileSet(Node):
    """A folder of data files (an export folder, a lake), reached through a named connection
    whose URL is ``file:///absolute/folder``."""

    name: Id
    connection: str = Field(min_length=1, max_length=80)
    description: str | None = None
    tables: list[FileTable] = Field(default_factory=list)

    @field_validator("connection")
    @classmethod
    def _name_not_url(cls, value: str) -> str:
        return Dataset._name_not_url(value)


class System(Node):
    """An application or service that owns datasets."""

    name: Id
    description: str | None = None
    datasets: list[Dataset] = Field(default_factory=list)


class IdentitySpec(Node):
    """How one identity's values are normalised (see :mod:`troth.dsr.normalise`).

    ``email``: trimmed, the domain lower-cased and IDNA-encoded, the local part case-folded unless
    ``case: sensitive``; ``phone``: E.164 via ``phonenumbers``, numbers without a country code read
    in ``region``; ``exact``: trimmed only.
    """

    kind: IdentityKind = IdentityKind.exact
    case: Literal["insensitive", "sensitive"] = "insensitive"
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class DataMap(Node):
    """A whole data map."""

    troth: Literal[1] = 1
    kind: Literal["datamap"] = "datamap"
    identities: dict[Id, IdentitySpec] = Field(default_factory=dict)
    systems: list[System] = Field(default_factory=list)
    #: key-value stores (Redis) whose keys hold the person's identity (troth.connectors.keystore)
    keystores: list[KeyStore] = Field(default_factory=list)
    #: folders of CSV, Parquet and NDJSON files, read through DuckDB (troth.connectors.files)
    filesets: list[FileSet] = Field(default_factory=list)
    #: SaaS HTTP APIs declared in YAML (troth.datamap.services, troth.connectors.http)
    services: list[Service] = Field(default_factory=list)

    def identity_spec(self, name: str) -> IdentitySpec:
        """The declared spec, or the default for the name (``email`` and ``phone`` by kind)."""
        if name in self.identities:
            return self.identities[name]
        if name in ("email", "phone"):
            return IdentitySpec(kind=IdentityKind(name))
        return IdentitySpec()

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

    def other_fields(self) -> Iterator[tuple[str, Any]]:
        """The key stores', file sets' and services' elements that carry ``categories``, with
        their address (``cache.sessions``, ``lake.orders.email``, ``stripe.customers``)."""
        for ks in self.keystores:
            for kp in ks.keys:
                yield f"{ks.name}.{kp.name}", kp
                yield from ((f"{ks.name}.{kp.name}.{f.name}", f) for f in kp.fields)
        for fs in self.filesets:
            for ft in fs.tables:
                yield from ((f"{fs.name}.{ft.name}.{f.name}", f) for f in ft.fields)
        for svc in self.services:
            yield from ((f"{svc.name}.{r.name}", r) for r in svc.resources)

    def resolve(self, dataset: str, table: str, field: str | None = None) -> Any:
        """The table (or field) at that address, or None when it is not in the map."""
        ds = self.dataset(dataset)
        t = ds.table(table) if ds else None
        if t is None or field is None:
            return t
        return t.field(field)

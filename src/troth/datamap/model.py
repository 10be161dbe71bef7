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

The elements are defined in part modules (:mod:`~troth.datamap.model_base`: names, enumerations
and the common node; :mod:`~troth.datamap.model_tables`: SQL datasets, tables, fields;
:mod:`~troth.datamap.model_stores`: key-value stores and file sets) and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field

from troth.datamap.model_base import (
    EraseAction,
    Id,
    IdentityKind,
    MaskStrategy,
    Match,
    Name,
    Node,
    RefKind,
    RefTarget,
    is_personal_category,
)
from troth.datamap.model_stores import FileSet, FileTable, KeyField, KeyPattern, KeyStore
from troth.datamap.model_tables import (
    Dataset,
    JsonPath,
    LegalHold,
    MapField,
    Reference,
    System,
    Table,
    TableRetention,
    WhereValue,
)
from troth.datamap.services import Service
from troth.policy.model import SubjectKey


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


#: the names defined in the model's part modules, re-exported: ``troth.datamap.model`` is the one
#: place to import the data map model from
__all__ = [
    "DataMap",
    "Dataset",
    "EraseAction",
    "FileSet",
    "FileTable",
    "Id",
    "IdentityKind",
    "IdentitySpec",
    "JsonPath",
    "KeyField",
    "KeyPattern",
    "KeyStore",
    "LegalHold",
    "MapField",
    "MaskStrategy",
    "Match",
    "Name",
    "Node",
    "RefKind",
    "RefTarget",
    "Reference",
    "Service",
    "SubjectKey",
    "System",
    "Table",
    "TableRetention",
    "WhereValue",
    "is_personal_category",
]

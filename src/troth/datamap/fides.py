"""Import and export Fides dataset YAML, so a Fides user brings their annotations.

Fides: ``dataset: [{fides_key, name, description, collections: [{name, fields: [{name,
data_categories, fides_meta: {identity, primary_key, data_type, references: [{dataset, field:
"collection.field", direction}]}}]}]}]`` (older files say ``fidesops_meta``). Fides has no
connection names, masking per field, retention timestamps or legal holds; export writes what Fides
can hold (a ``delete_row`` table as ``masking_strategy_override: {strategy: delete}``).
"""

from __future__ import annotations

from typing import Any

from troth.datamap.model import (
    DataMap,
    Dataset,
    EraseAction,
    MapField,
    Reference,
    RefKind,
    System,
    Table,
)
from troth.errors import DataMapError
from troth.policy.yamlsrc import SourceMap

_META_KEYS = ("fides_meta", "fidesops_meta")


def from_fides(
    data: Any,
    smap: SourceMap | None = None,
    *,
    system: str | None = None,
    connections: dict[str, str] | None = None,
) -> DataMap:
    """A data map from a Fides dataset document (one system holding every dataset).

    ``connections``: dataset fides_key -> connection name (default: the fides_key).
    """
    where = smap.at(()) if smap else None
    if not isinstance(data, dict) or not isinstance(data.get("dataset"), list):
        raise DataMapError(
            "not a Fides dataset file (no `dataset:` list)",
            where=where,
            fix="export the datasets from Fides (`fides pull` or the UI) and import that YAML",
        )
    connections = connections or {}
    datasets = []
    for i, raw in enumerate(data["dataset"]):
        key = raw.get("fides_key") if isinstance(raw, dict) else None
        if not isinstance(key, str):
            raise DataMapError(
                "a Fides dataset without `fides_key`",
                where=smap.at(("dataset", i)) if smap else None,
                fix="give every dataset a fides_key",
            )
        tables = [_table(c, key) for c in raw.get("collections") or []]
        datasets.append(
            Dataset(
                name=key,
                connection=connections.get(key, key),
                description=raw.get("description"),
                tables=tables,
            )
        )
    return DataMap(systems=[System(name=system or "imported", datasets=datasets)])


def _meta(raw: dict[str, Any]) -> dict[str, Any]:
    for k in _META_KEYS:
        if isinstance(raw.get(k), dict):
            return dict(raw[k])
    return {}


def _table(raw: dict[str, Any], dataset: str) -> Table:
    meta = _meta(raw)
    strategy = (meta.get("masking_strategy_override") or {}).get("strategy")
    fields: list[MapField] = []
    for f in raw.get("fields") or []:
        fields.extend(_fields(f, dataset, prefix=""))
    return Table(
        name=raw["name"],
        description=raw.get("description"),
        erase=EraseAction.delete_row if strategy == "delete" else EraseAction.mask,
        fields=fields,
    )


#: a Fides direction to a reference kind: ``from`` (the referenced field finds this collection's
#: rows) is ownership; ``to`` and unset (both ways) would walk to the referenced rows, which
#: troth never does unless told: they become ``refers`` (review them after the import)
_FROM_FIDES = {"from": RefKind.owns}


def _fields(raw: dict[str, Any], dataset: str, prefix: str) -> list[MapField]:
    """A Fides field; nested fields (documents) are flattened to ``parent_child`` names."""
    name = prefix + raw["name"]
    if raw.get("fields"):
        out: list[MapField] = []
        for child in raw["fields"]:
            out.extend(_fields(child, dataset, prefix=f"{name}_"))
        return out
    meta = _meta(raw)
    refs = [
        Reference(
            field=f"{r.get('dataset', dataset)}.{r['field']}",
            kind=_FROM_FIDES.get(r.get("direction"), RefKind.refers),
        )
        for r in meta.get("references") or []
    ]
    return [
        MapField(
            name=name,
            description=raw.get("description"),
            categories=list(raw.get("data_categories") or []),
            identity=meta.get("identity"),
            primary_key=bool(meta.get("primary_key")),
            data_type=meta.get("data_type"),
            references=refs,
        )
    ]


def to_fides(datamap: DataMap) -> dict[str, Any]:
    """The Fides dataset document of a data map (every dataset of every system)."""
    out = []
    for ds in datamap.datasets():
        collections = []
        for table in ds.tables:
            coll: dict[str, Any] = {"name": table.name}
            if table.description:
                coll["description"] = table.description
            if table.erase is EraseAction.delete_row:
                coll["fides_meta"] = {"masking_strategy_override": {"strategy": "delete"}}
            coll["fields"] = [_fides_field(f, ds.name) for f in table.fields]
            collections.append(coll)
        entry: dict[str, Any] = {"fides_key": ds.name, "name": ds.name}
        if ds.description:
            entry["description"] = ds.description
        entry["collections"] = collections
        out.append(entry)
    return {"dataset": out}


def _fides_field(f: MapField, dataset: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": f.name}
    if f.description:
        field["description"] = f.description
    if f.categories:
        field["data_categories"] = list(f.categories)
    meta: dict[str, Any] = {}
    if f.identity:
        meta["identity"] = f.identity
    if f.primary_key:
        meta["primary_key"] = True
    if f.data_type:
        meta["data_type"] = fides_type(f.data_type)
    if f.references:
        meta["references"] = []
        for r in f.references:
            ds, table, column = r.target(dataset)
            if r.kind is RefKind.refers:
                continue  # Fides has no "never followed": a reference without one is walked
            ref: dict[str, Any] = {"dataset": ds, "field": f"{table}.{column}"}
            if r.kind is not RefKind.same_person:
                ref["direction"] = "from"
            meta["references"].append(ref)
        if not meta["references"]:
            del meta["references"]
    if meta:
        field["fides_meta"] = meta
    return field


_FIDES_TYPES = (
    ("bool", "boolean"),
    ("int", "integer"),
    ("serial", "integer"),
    ("decimal", "float"),
    ("numeric", "float"),
    ("float", "float"),
    ("double", "float"),
    ("real", "float"),
)


def fides_type(sql_type: str) -> str:
    """A Fides data type (string, integer, float, boolean...) for a SQL column type."""
    low = sql_type.lower()
    if low in ("string", "integer", "float", "boolean", "object_id", "object"):
        return low
    return next((t for word, t in _FIDES_TYPES if word in low), "string")

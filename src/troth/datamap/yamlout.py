"""Write a data map as YAML that :func:`~troth.datamap.loader.load_datamap` reads back."""

from __future__ import annotations

from typing import Any

import yaml

from troth.datamap.model import DataMap, RefKind

HEADER = (
    "# troth data map: systems -> datasets (a named connection) -> tables -> fields.\n"
    "# Connection URLs are never written here: set TROTH_CONN_<NAME>, or `connections:` in\n"
    "# troth.yaml. Review every `guess: true` and remove the mark once checked.\n"
)


def datamap_dict(datamap: DataMap) -> dict[str, Any]:
    """Plain values, default values left out (``troth`` and ``kind`` always written, and each
    reference's ``kind``: ``refers`` is a decision a reviewer must see as much as ``owns``)."""
    body = datamap.model_dump(mode="json", exclude_defaults=True)
    for system in body.get("systems", []):
        for ds in system.get("datasets", []):
            for table in ds.get("tables", []):
                for f in table.get("fields", []):
                    if "references" in f:
                        f["references"] = [
                            {"field": r["field"], "kind": RefKind.refers.value, **r}
                            for r in f["references"]
                        ]
    return {"troth": 1, "kind": "datamap", **body}


def dump_datamap(datamap: DataMap, *, header: str = HEADER) -> str:
    text = yaml.safe_dump(datamap_dict(datamap), sort_keys=False, allow_unicode=True, width=100)
    return header + text

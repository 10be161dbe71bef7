"""The dry-run plan of the stores beyond SQL: key patterns, file tables and service resources a
request with these identity names would reach, and what erasure would do there (no store is
touched)."""

from __future__ import annotations

from typing import Any

from troth.datamap.model import DataMap


def plan_others(datamap: DataMap, names: set[str] | list[str]) -> list[dict[str, Any]]:
    given = set(names)
    out: list[dict[str, Any]] = []
    for ks in datamap.keystores:
        for kp in ks.keys:
            fields = [f"{f.name}: {f.mask.value}" for f in kp.fields]
            out.append({
                "table": f"{ks.name}.{kp.name}", "kind": "keys", "connection": ks.connection,
                "found_by": f"SCAN MATCH {kp.pattern}", "erase": kp.erase, "fields": fields,
                "reached": set(kp.identities) <= given,
            })  # fmt: skip
    for fs in datamap.filesets:
        for ft in fs.tables:
            ids = sorted({f.identity for f in ft.fields if f.identity})
            personal = [f"{f.name}: {(f.mask.value if f.mask else 'null')}"
                        for f in ft.fields if f.categories or f.identity]  # fmt: skip
            out.append({
                "table": f"{fs.name}.{ft.name}", "kind": f"files ({ft.format})",
                "connection": fs.connection, "found_by": f"{ft.path} where {', '.join(ids)}",
                "erase": ft.erase.value,
                "fields": [] if ft.erase.value == "delete_row" else personal,
                "reached": bool(given & set(ids)),
            })  # fmt: skip
    for svc in datamap.services:
        for r in svc.resources:
            erase = f"{r.erase.method} {r.erase.path}" if r.erase else "not erasable"
            out.append({
                "table": f"{svc.name}.{r.name}", "kind": "service", "connection": svc.connection,
                "found_by": f"{r.find.method} {r.find.path} ({r.pagination.type} pages)",
                "erase": erase, "fields": [], "reached": r.identity in given,
            })  # fmt: skip
    return out

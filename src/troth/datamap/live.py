"""Compare a data map with the live schemas of its stores (tables, columns, reference targets)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from troth.connectors.base import SchemaInfo
from troth.datamap.checks import map_issue
from troth.datamap.loader import DataMapDocument
from troth.policy.checks.base import Issue

_FIX = "correct the map (or run `troth datamap introspect` to see the live schema)"


def compare_live(dm: DataMapDocument, schemas: Mapping[str, SchemaInfo]) -> Iterator[Issue]:
    """Tables, fields and reference targets of the map that the live stores do not have.

    ``schemas``: dataset name -> its live schema; datasets without one are not compared.
    """
    for ds, table in dm.datamap.tables():
        schema = schemas.get(ds.name)
        if schema is None:
            continue
        live = schema.table(table.name)
        if live is None:
            yield map_issue(
                dm,
                table,
                f"table {ds.name}.{table.name} is not in the live store "
                f"(connection {ds.connection!r})",
                field="name",
                fix=_FIX,
            )
            continue
        for f in table.fields:
            if live.column(f.name) is None:
                yield map_issue(
                    dm,
                    f,
                    f"column {ds.name}.{table.name}.{f.name} is not in the live table",
                    field="name",
                    fix=_FIX,
                )
            for r in f.references:
                target_ds, target_table, target_col = r.target(ds.name)
                other = schemas.get(target_ds)
                if other is None:
                    continue
                t = other.table(target_table)
                if t is None or t.column(target_col) is None:
                    missing = "table" if t is None else "column"
                    yield map_issue(
                        dm,
                        r,
                        f"{ds.name}.{table.name}.{f.name} references "
                        f"{target_ds}.{target_table}.{target_col}, but the live store has no "
                        f"such {missing}",
                        field="field",
                        fix=_FIX,
                    )

"""Compare a data map with the live schemas of its stores (tables, columns, reference targets),
and measure the walks requests take on the live data (:mod:`troth.datamap.fanout`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from troth.connectors.base import Connector, SchemaInfo
from troth.connectors.names import open_connection
from troth.datamap.checks import map_issue
from troth.datamap.loader import DataMapDocument
from troth.policy.checks.base import Issue
from troth.policy.model import RestrictedSource

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


def live_issues(
    dm: DataMapDocument,
    connectors: Mapping[str, Connector] | None = None,
    *,
    restricted: Sequence[RestrictedSource] = (),
    discovery: bool = True,
) -> list[tuple[str, Issue]]:
    """``(check id, issue)`` of every live check; ``connectors`` by connection name (opened from
    the environment when not given). With ``discovery``, samples of the stores' values are
    classified too (:mod:`troth.discovery.drift`); ``restricted`` are the policy's restricted
    sources."""
    from troth.connectors.sql import SqlConnector
    from troth.datamap.fanout import stored_identity_issues, walk_issues

    opened: dict[str, Connector] = {}
    try:
        schemas: dict[str, SchemaInfo] = {}
        by_name: dict[str, Connector] = {}
        engines = {}
        for ds in dm.datamap.datasets():
            conn = (connectors or {}).get(ds.connection)
            if conn is None:
                conn = opened.get(ds.connection) or open_connection(ds.connection)
                opened[ds.connection] = conn
            by_name[ds.connection] = conn
            schemas[ds.name] = conn.introspect()
            if isinstance(conn, SqlConnector):
                engines[ds.name] = conn.engine
        out = [("map.live-schema", i) for i in compare_live(dm, schemas)]
        if not out:  # the walks are measured on a schema that has every mapped column
            out += list(walk_issues(dm, engines))
            out += list(stored_identity_issues(dm, engines))
        if discovery:
            from troth.discovery.drift import drift_issues

            out += list(drift_issues(dm, by_name, restricted))
        return out
    finally:
        for conn in opened.values():
            conn.close()

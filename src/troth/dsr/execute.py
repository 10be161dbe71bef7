"""Write an erasure or a rectification: set-based statements by the resolved keys.

Per store, one transaction: every table's action runs as one ``UPDATE ... SET col = <mask SQL>``
or ``DELETE`` by the key set (one statement with an array on PostgreSQL, one per batch of keys
elsewhere: the connector decides), in the plan's foreign-key-safe order
(children deleted before parents). Legal holds keep what they name and the result says why.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from troth.connectors.base import ColumnInfo, Connector, SchemaInfo
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.dsr.plan import Plan, TableAction
from troth.dsr.resolve import KeySet
from troth.errors import RequestError
from troth.masking import MaskContext

#: test hook: ``step:N`` kills the process after N table writes of a store (before its commit),
#: ``store:N`` after N stores committed and were marked done. Never set it in production.
CRASH_ENV = "TROTH_TEST_CRASH_AT"
_TEXT_TYPES = ("char", "text", "clob", "string")


@dataclass
class TableResult:
    table: str
    action: str
    rows: int
    fields: list[str] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    kept_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "action": self.action,
            "rows": self.rows,
            "fields": self.fields,
            "kept": self.kept,
            "kept_rows": self.kept_rows,
        }


def crash_point(kind: str, count: int) -> None:
    """Kill this process here when the test hook asks for it (simulates a crash)."""
    if os.environ.get(CRASH_ENV) == f"{kind}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)


def mask_context(
    datamap: DataMap, action: TableAction, column: str, schema: SchemaInfo, key: bytes
) -> MaskContext:
    """What a strategy needs about the column: its category, whether it is text, its length."""
    fld = datamap.resolve(action.table.dataset, action.table.table, column)
    info = schema.table(action.table.table)
    col: ColumnInfo | None = info.column(column) if info else None
    type_name = col.type if col else (fld.data_type or "text") if fld else "text"
    length = re.search(r"\((\d+)\)", type_name)
    return MaskContext(
        key=key,
        category=fld.categories[0] if fld and fld.categories else None,
        is_text=any(t in type_name.lower() for t in _TEXT_TYPES),
        max_length=int(length.group(1)) if length else None,
    )


def check_masks(plan: Plan, connection: str, schema: SchemaInfo) -> None:
    """Refuse, before any write, a ``null`` mask on a column the store declares NOT NULL."""
    for action in plan.actions:
        if action.connection != connection or action.action != "mask":
            continue
        info = schema.table(action.table.table)
        for col, strategy in action.masks:
            column = info.column(col) if info else None
            if strategy == "null" and column is not None and not column.nullable:
                raise RequestError(
                    f"mask 'null' on column {col!r}, which the store declares NOT NULL",
                    where=f"data map {action.table}.{col}",
                    fix="mask it with redact or hash instead, or make the column nullable",
                )


def erase_store(
    datamap: DataMap,
    plan: Plan,
    connection: str,
    connector: Connector,
    schema: SchemaInfo,
    keys: KeySet,
    key: bytes,
) -> list[TableResult]:
    """Erase one store's rows of the person in one transaction; results in plan order."""
    check_masks(plan, connection, schema)
    results: list[TableResult] = []
    writes = 0
    with connector.transaction():
        for action in plan.actions:
            if action.connection != connection:
                continue
            kept = [
                {"field": k.field, "hold": k.hold, "reason": k.reason, "law": k.law}
                for k in action.kept
            ]
            entries = keys.get(action.table, [])
            if action.action in ("keep", "none") or not entries:
                found = sum(len(e.values) for e in entries)
                results.append(TableResult(str(action.table), action.action, 0, [], kept))
                if action.action == "keep":
                    results[-1].kept_rows = found
                continue
            rows = 0
            for entry in entries:
                if action.action == "delete_row":
                    rows += connector.delete(action.table.table, entry.column, entry.values)
                else:
                    masks = {
                        col: (strategy, mask_context(datamap, action, col, schema, key))
                        for col, strategy in action.masks
                    }
                    rows += connector.mask(action.table.table, entry.column, entry.values, masks)
            results.append(
                TableResult(
                    str(action.table), action.action, rows, [f for f, _ in action.masks], kept
                )
            )
            writes += 1
            crash_point("step", writes)
    return results


def rectify_store(
    connector: Connector,
    keys: KeySet,
    changes: Mapping[TableId, Mapping[str, Any]],
    tables: Sequence[TableId],
) -> list[TableResult]:
    """Set the new values (bound parameters) on the person's rows of each table, one transaction."""
    results: list[TableResult] = []
    with connector.transaction():
        for tid in tables:
            rows = 0
            for entry in keys.get(tid, []):
                rows += connector.update(tid.table, entry.column, entry.values, changes[tid])
            results.append(TableResult(str(tid), "rectify", rows, sorted(changes[tid])))
    return results


def parse_changes(datamap: DataMap, changes: Mapping[str, Any]) -> dict[TableId, dict[str, Any]]:
    """``{"dataset.table.field" or "table.field": value}`` checked against the map."""
    out: dict[TableId, dict[str, Any]] = {}
    for address, value in changes.items():
        parts = address.split(".")
        matches = [
            (ds.name, t.name, f)
            for ds, t, f in datamap.fields()
            if parts in ([ds.name, t.name, f.name], [t.name, f.name])
        ]
        if len(matches) != 1:
            raise RequestError(
                f"{address!r} is {'ambiguous' if matches else 'not a field of the data map'}",
                where="rectification",
                fix="name a mapped field as dataset.table.field",
            )
        dataset, table, fld = matches[0]
        if fld.primary_key or fld.references:
            raise RequestError(
                f"{address!r} is a key or a reference: it links rows and cannot be rectified",
                where="rectification",
                fix="rectify the person's data fields only",
            )
        out.setdefault(TableId(dataset, table), {})[fld.name] = value
    return out

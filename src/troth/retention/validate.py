"""A binding against the live schema: every column it reads exists, and has a type that fits.

Failures are :class:`~troth.errors.RetentionError` located in the data map (file:line of the
element), raised by ``troth retention plan`` and ``run`` before any write.
"""

from __future__ import annotations

from troth.connectors.base import SchemaInfo
from troth.datamap.loader import DataMapDocument
from troth.errors import RetentionError
from troth.retention.bind import Binding, Condition

_TIME_TYPES = ("date", "time")
_NUMBER_TYPES = ("int", "serial", "numeric", "decimal", "real", "double", "float", "number")
_BOOL_TYPES = ("bool",)
_TEXT_TYPES = ("char", "text", "clob", "string", "enum", "citext", "uuid", "name")


def _kind(type_name: str) -> str:
    t = type_name.lower()
    if any(k in t for k in _BOOL_TYPES) or t in ("tinyint(1)",):
        return "boolean"
    if any(k in t for k in _TIME_TYPES):
        return "date/time"
    if any(k in t for k in _NUMBER_TYPES):
        return "number"
    if any(k in t for k in _TEXT_TYPES):
        return "text"
    return "other"


def _fits(kind: str, value: object) -> bool:
    if value is None:
        return True
    if kind == "boolean":
        return isinstance(value, bool) or value in (0, 1)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str)
    return kind == "other"


def validate_live(binding: Binding, schema: SchemaInfo, dm: DataMapDocument) -> dict[str, str]:
    """Check the binding's columns against the live schema; the bound table's column types."""
    table = schema.table(binding.table)
    if table is None:
        raise RetentionError(
            f"table {binding.dataset}.{binding.table} of rule {binding.rule.id!r} is not in the "
            "store",
            where=dm.where(dm.datamap.resolve(binding.dataset, binding.table), "name"),
            fix="correct the data map (`troth datamap check --live`)",
        )
    needed: list[tuple[str, str]] = [(binding.table, c) for c in (*binding.key, *binding.fields)]
    for ref in binding.refs():
        here = binding.table
        for j in ref.joins:
            needed += [(here, j.column), (j.table, j.key)]
            here = j.table
        needed.append((ref.table, ref.column))
    for tname, col in needed:
        live = schema.table(tname)
        if live is None or live.column(col) is None:
            element = dm.datamap.resolve(binding.dataset, tname, col)
            raise RetentionError(
                f"rule {binding.rule.id!r} needs column {tname}.{col}, which the store "
                f"{binding.connection!r} does not have",
                where=dm.where(element, "name") if element else dm.where(),
                fix="correct the data map or the schema (`troth datamap check --live`)",
            )
    for ref, what in [(binding.timestamp, "is driven by")] + [
        (h.anchor, f"has hold {h.id!r} running from") for h in binding.holds if h.anchor
    ]:
        live_t = schema.table(ref.table)
        assert live_t is not None
        info = live_t.column(ref.column)
        assert info is not None
        if _kind(info.type) != "date/time":
            element = dm.datamap.resolve(binding.dataset, ref.table, ref.column)
            raise RetentionError(
                f"rule {binding.rule.id!r} {what} {ref}, which is a {info.type}, not a date/time "
                "column",
                where=dm.where(element, "retention_timestamp" if element else None)
                if element
                else dm.where(),
                fix="mark a DATE/TIMESTAMP column with `retention_timestamp: true` (a hold's "
                "`for: <period> since <column>` names one too), or change the column's type",
            )
    for cond in binding.conditions:
        _check_condition(binding, binding.table, cond, schema, dm)
    for i, cond in binding.path_conditions:
        _check_condition(binding, binding.timestamp.joins[i].table, cond, schema, dm)
    return {c.name: c.type for c in table.columns}


def _check_condition(
    binding: Binding, table: str, cond: Condition, schema: SchemaInfo, dm: DataMapDocument
) -> None:
    live = schema.table(table)
    if live is None:
        return  # the missing table was reported with the binding's columns
    col = live.column(cond.column)
    where = dm.where(cond.source, f"where.{cond.column}")
    if col is None:
        raise RetentionError(
            f"the row condition of {binding.dataset}.{table} names column "
            f"{cond.column!r}, which the store does not have",
            where=where,
            fix="name a column of the table (`troth datamap check --live` lists them)",
        )
    kind = _kind(col.type)
    bad = [v for v in cond.values if not _fits(kind, v)]
    if bad or kind == "date/time":
        raise RetentionError(
            f"the row condition {cond.describe()} on {binding.dataset}.{table} does not "
            f"fit the column's type ({col.type}: {kind})",
            where=where,
            fix="compare a text column with text (quote numbers), a number column with numbers, "
            "a boolean with true/false; dates belong in the rule's period, not in a condition",
        )

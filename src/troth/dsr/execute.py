"""Write an erasure or a rectification: set-based statements by the resolved keys.

Per store, one transaction: first the person's values inside other people's JSON arrays are masked
(mentions), then every table's action runs in the plan's foreign-key-safe order (children before
parents) as ``UPDATE ... SET col = <mask SQL>`` or ``DELETE`` by the key set (one statement with an
array on PostgreSQL, one per batch of keys elsewhere: the connector decides):

- rows a legal hold still keeps (``for: 10 years since issued_at``) are left alone and counted;
- a ``delete_row`` deletes only rows no other row points at (every reference of the map, of any
  kind, and every foreign key the store declares): the rows that stay still referenced (another
  person's ticket merged into this one, a held invoice's customer) are masked instead, so no
  reference dangles and no constraint refuses the change; self-references are deleted leaves
  first, one statement per level;
- a ``mask`` masks every personal field by its effective strategy; a field a hold keeps is left
  as it is while its hold runs.

A dry run does exactly the same in a transaction that is rolled back, so its counts are the
counts of the run. A store that refuses a statement rolls the store's transaction back whole.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from troth.connectors.base import Connector, SchemaInfo
from troth.connectors.masks import ColumnMask
from troth.connectors.match import Lookup as RowLookup
from troth.connectors.match import Rows
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.dsr.plan import Hold, Plan, Referrer, TableAction
from troth.dsr.resolve import KeySet, mention_rows, scope_of
from troth.errors import RequestError
from troth.masking import MaskContext

#: test hook: ``step:N`` kills the process after N table writes of a store (before its commit),
#: ``store:N`` after N stores committed and were marked done. Never set it in production.
CRASH_ENV = "TROTH_TEST_CRASH_AT"
_TEXT_TYPES = ("char", "text", "clob", "string")
Condition = Callable[[sa.TableClause], sa.ColumnElement[bool]]


@dataclass
class TableResult:
    table: str
    action: str
    rows: int
    fields: list[str] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    kept_rows: int = 0
    masked_instead: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "action": self.action,
            "rows": self.rows,
            "fields": self.fields,
            "kept": self.kept,
            "kept_rows": self.kept_rows,
            "masked_instead": self.masked_instead,
        }


def crash_point(kind: str, count: int) -> None:
    """Kill this process here when the test hook asks for it (simulates a crash)."""
    if os.environ.get(CRASH_ENV) == f"{kind}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)


def is_text(type_name: str | None) -> bool:
    return type_name is None or any(t in type_name.lower() for t in _TEXT_TYPES)


def mask_context(
    datamap: DataMap, table: TableId, column: str, schema: SchemaInfo, key: bytes
) -> MaskContext:
    """What a strategy needs about the column: its category, whether it is text, its length."""
    fld = datamap.resolve(table.dataset, table.table, column)
    info = schema.table(table.table)
    col = info.column(column) if info else None
    type_name = col.type if col else (fld.data_type or "text") if fld else "text"
    length = re.search(r"\((\d+)\)", type_name)
    return MaskContext(
        key=key,
        category=fld.categories[0] if fld and fld.categories else None,
        is_text=is_text(type_name),
        max_length=int(length.group(1)) if length and is_text(type_name) else None,
    )


def column_masks(
    datamap: DataMap,
    action: TableAction,
    schema: SchemaInfo,
    key: bytes,
    holds: Mapping[str, Condition],
    *,
    strict: bool = True,
) -> tuple[list[tuple[str, ColumnMask]], list[RequestError]]:
    """Each personal column's mask (``auto`` resolved by the live type) and the masks the store
    cannot take (NULL into a NOT NULL column): raised at once when ``strict``."""
    info = schema.table(action.table.table)
    out: list[tuple[str, ColumnMask]] = []
    impossible: list[RequestError] = []
    for col, name in action.masks:
        ctx = mask_context(datamap, action.table, col, schema, key)
        column = info.column(col) if info else None
        strategy = _resolve(name, ctx.is_text, column.nullable if column else True)
        nulls = strategy == "null" or (strategy in ("redact", "hash", "fake") and not ctx.is_text)
        if nulls and column is not None and not column.nullable:
            error = RequestError(
                f"erasure would set NOT NULL column {action.table}.{col} to NULL "
                f"(mask {strategy!r} on a {column.type} column)",
                where=f"data map {action.table}.{col}",
                fix="give it a mask that keeps a value (redact, hash or fake on a text column), "
                "erase the table's rows (`erase: delete_row`), or keep it with a legal hold",
            )
            if strict:
                raise error
            impossible.append(error)
            continue
        out.append((col, ColumnMask(strategy, ctx, keep_if=holds.get(col))))
    for col, path, array, strategy in action.json_masks:
        ctx = replace(mask_context(datamap, action.table, col, schema, key), is_text=True)
        sql_type = info.column(col).type if info and info.column(col) else None  # type: ignore[union-attr]
        out.append(
            (col, ColumnMask(strategy, ctx, path, array, keep_if=holds.get(col), sql_type=sql_type))
        )
    return out, impossible


def _resolve(name: str, text: bool, nullable: bool) -> str:
    """A strategy for the live column: ``auto`` redacts text and nulls the rest; ``auto_null``
    nulls where the column allows it and redacts a text column that does not."""
    if name == "auto":
        return "redact" if text else "null"
    if name == "auto_null":
        return "null" if nullable or not text else "redact"
    return name


def check_masks(plan: Plan, datamap: DataMap, connection: str, schema: SchemaInfo) -> None:
    """Refuse, before any write, a mask the store's columns cannot take (a ``delete_row``'s
    masks are checked when rows that stay referenced would need them)."""
    for action in plan.actions:
        if action.connection == connection and action.action == "mask":
            column_masks(datamap, action, schema, b"check", {})


@dataclass(frozen=True)
class Cond:
    """A row condition and the columns of the table it reads."""

    test: Condition
    needs: tuple[str, ...]


def _hold_conditions(
    holds: Sequence[Hold], now: datetime
) -> tuple[Cond | None, dict[str, Condition]]:
    """The row condition of the table's ending holds, and of each field's."""
    table: list[Hold] = [h for h in holds if h.field == "*" and h.period is not None]
    fields: dict[str, list[Hold]] = {}
    for h in holds:
        if h.field != "*" and h.period is not None:
            fields.setdefault(h.field, []).append(h)

    def running(hs: Sequence[Hold]) -> Condition:
        def cond(t: sa.TableClause) -> sa.ColumnElement[bool]:
            parts = []
            for h in hs:
                assert h.period is not None
                assert h.since is not None
                cutoff = sa.bindparam(None, h.period.before(now), type_=sa.DateTime(), unique=True)
                if h.via is None:
                    col = t.c[h.since]
                    parts.append(sa.or_(col.is_(None), col >= cutoff))
                    continue
                fk, other, key = h.via
                p = sa.table(other, sa.column(key), sa.column(h.since)).alias("held_by")
                running = sa.or_(p.c[h.since].is_(None), p.c[h.since] >= cutoff)
                parts.append(sa.exists().where(p.c[key] == t.c[fk], running))
            return sa.or_(*parts)

        return cond

    def needs(hs: Sequence[Hold]) -> tuple[str, ...]:
        return tuple(h.via[0] if h.via else h.since for h in hs if h.since)

    whole = Cond(running(table), needs(table)) if table else None
    return whole, {f: running(hs) for f, hs in fields.items()}


def hold_columns(holds: Sequence[Hold]) -> tuple[str, ...]:
    """The columns of the table the ending holds read."""
    return tuple(h.via[0] if h.via else h.since for h in holds if h.since and h.period)


def _referenced(referrers: Sequence[Referrer]) -> Cond | None:
    """Whether a row of the table is still pointed at by any referrer row."""
    if not referrers:
        return None

    def cond(t: sa.TableClause) -> sa.ColumnElement[bool]:
        parts = []
        for i, r in enumerate(referrers):
            c = sa.table(r.table.table, *(sa.column(x) for x in r.columns)).alias(f"ref{i}")
            pairs = zip(r.columns, r.parent_columns, strict=True)
            parts.append(sa.exists().where(*(c.c[a] == t.c[b] for a, b in pairs)))
        return sa.or_(*parts)

    needs = tuple(dict.fromkeys(c for r in referrers for c in r.parent_columns))
    return Cond(cond, needs)


def store_referrers(action: TableAction, schema: SchemaInfo) -> tuple[Referrer, ...]:
    """The plan's referrers (the map's references) and the store's own foreign keys."""
    out = {(r.table, r.columns): r for r in action.referrers}
    for t in schema.tables:
        for fk in t.foreign_keys:
            if fk.ref_table == action.table.table:
                tid = TableId(action.table.dataset, t.name)
                out.setdefault((tid, fk.columns), Referrer(tid, fk.columns, fk.ref_columns, "fk"))
    return tuple(out.values())


def erase_store(
    datamap: DataMap,
    plan: Plan,
    connection: str,
    connector: Connector,
    schema: SchemaInfo,
    keys: KeySet,
    key: bytes,
    *,
    forms: Mapping[str, list[str]],
    scope: Mapping[str, Any] | None = None,
    now: datetime,
    rollback: bool = False,
) -> list[TableResult]:
    """Erase one store's rows of the person in one transaction; results in plan order."""
    check_masks(plan, datamap, connection, schema)
    scope = dict(scope or {})
    results: list[TableResult] = []
    writes = 0
    with connector.transaction(rollback=rollback):
        for m in plan.mentions:
            if m.connection != connection or not forms.get(m.identity):
                continue
            rows = mention_rows(m, forms[m.identity], scope)
            ctx = replace(mask_context(datamap, m.table, m.column, schema, key), is_text=True)
            only = RowLookup.of(m.column, forms[m.identity], form=m.form, text=m.text)
            info = schema.table(m.table.table)
            col_info = info.column(m.column) if info else None
            mask = ColumnMask(
                m.strategy, ctx, m.path, True, only, sql_type=col_info.type if col_info else None
            )
            n = connector.mask_rows(m.table.table, rows, [(m.column, mask)])
            results.append(TableResult(str(m.table), "mask_mention", n, [m.where]))
        for action in plan.actions:
            if action.connection != connection:
                continue
            results.append(_write_table(datamap, action, connector, schema, keys, key, scope, now))
            if not rollback and results[-1].action in ("mask", "delete_row"):
                writes += 1
                crash_point("step", writes)
    return results


def _write_table(
    datamap: DataMap,
    action: TableAction,
    connector: Connector,
    schema: SchemaInfo,
    keys: KeySet,
    key: bytes,
    scope: Mapping[str, Any],
    now: datetime,
) -> TableResult:
    kept = [
        {"field": k.field, "hold": k.hold, "reason": k.reason, "law": k.law, "until": k.until}
        for k in action.kept
    ]
    table = action.table.table
    entries = keys.get(action.table, [])
    step_scope = _table_scope(datamap, action.table)
    rows = Rows(tuple(e.lookup() for e in entries), scope_of(step_scope, scope))
    result = TableResult(str(action.table), action.action, 0, [f for f, _ in action.masks], kept)
    result.fields += [f"{c}:{'.'.join(p)}{'[]' if a else ''}" for c, p, a, _ in action.json_masks]
    if not any(e.values for e in entries):
        return result
    if action.action == "keep":
        result.kept_rows = connector.count_rows(table, rows)
        return result
    rows = replace(rows, needs=(*rows.needs, *hold_columns(action.holds)))
    held, field_holds = _hold_conditions(action.holds, now)
    if held is not None:
        result.kept_rows = connector.count_rows(table, _where(rows, held))
        rows = _where(rows, _not(held))
    if action.action == "none":
        return result
    strict = action.action == "mask"
    masks, impossible = column_masks(datamap, action, schema, key, field_holds, strict=strict)
    if action.action == "mask":
        result.rows = connector.mask_rows(table, rows, masks)
        return result
    referrers = store_referrers(action, schema)
    referenced = _referenced(referrers)
    # rows that stay referenced would need a mask the store cannot take: refuse now (the
    # store's transaction is rolled back whole, nothing of this erasure is written)
    if (
        referenced is not None
        and impossible
        and connector.count_rows(table, _where(rows, referenced))
    ):
        raise impossible[0]
    deletable = _where(rows, _not(referenced)) if referenced else rows
    self_ref = any(r.table == action.table for r in referrers)
    while True:  # self-references: the leaves first, one statement per level
        n = connector.delete_rows(table, deletable)
        result.rows += n
        if not n or not self_ref:
            break
    if referenced is not None and masks:
        result.masked_instead = connector.mask_rows(table, rows, masks)
    return result


def _table_scope(datamap: DataMap, tid: TableId) -> tuple[tuple[str, str], ...]:
    table = datamap.resolve(tid.dataset, tid.table)
    return tuple(sorted(table.scope.items())) if table is not None else ()


def _where(rows: Rows, cond: Cond) -> Rows:
    return replace(rows, where=(*rows.where, cond.test), needs=(*rows.needs, *cond.needs))


def _not(cond: Cond | None) -> Cond:
    assert cond is not None
    test = cond.test
    return Cond(lambda t: sa.not_(test(t)), cond.needs)


def rectify_store(
    connector: Connector,
    keys: KeySet,
    changes: Mapping[TableId, Mapping[str, Any]],
    tables: Sequence[TableId],
    scopes: Mapping[TableId, tuple[tuple[str, Any], ...]],
) -> list[TableResult]:
    """Set the new values (bound parameters) on the person's rows of each table, one transaction."""
    results: list[TableResult] = []
    with connector.transaction():
        for tid in tables:
            entries = keys.get(tid, [])
            rows = Rows(tuple(e.lookup() for e in entries), scopes.get(tid, ()))
            n = connector.update_rows(tid.table, rows, changes[tid]) if entries else 0
            results.append(TableResult(str(tid), "rectify", n, sorted(changes[tid])))
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

"""Run a plan's steps: find the person's rows, set-based, across every store.

Each step reads its table once per lookup with all the values found so far (the connector binds
them: one array on PostgreSQL, batched IN lists elsewhere; never one statement per row). Values a
step yields feed the lookups of later steps. A cyclic plan repeats the steps with only the values
not looked up yet, until a pass finds nothing new. Rows are deduplicated by primary key.

Access reads whole rows and hands them to a :class:`RowSink` as they stream; erasure reads only
the key columns and returns the :class:`KeySet` (primary keys per table) it will write by. For
erasure a connector that is a :class:`~troth.connectors.base.ColumnReader` returns those columns
column-wise, so the key set is built with set operations and no Python work per row (on PostgreSQL
one statement per lookup: the values are bound as one array).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from troth.connectors.base import ColumnReader, Row
from troth.datamap.graph import FieldId, TableId
from troth.dsr.identity import Identity, values_by_name
from troth.dsr.plan import Plan, Step, erase_key
from troth.dsr.stores import Stores


class RowSink(Protocol):
    def add(self, step: Step, row: Row) -> None: ...


@dataclass
class TableKeys:
    """The values of ``column`` that find one table's rows of the person.

    ``identity`` is set when the values are the identity's own (a table without a single-column
    primary key looked up by an identity field): they are not stored, the request gives them.
    """

    column: str
    values: set[Any] = field(default_factory=set)
    identity: str | None = None


KeySet = dict[TableId, list[TableKeys]]


@dataclass
class Resolution:
    keys: KeySet
    counts: dict[TableId, int]
    statements: int
    passes: int


def resolve(
    plan: Plan,
    stores: Stores,
    identities: Iterable[Identity],
    *,
    sink: RowSink | None = None,
    on_step: Callable[[Step, int], None] | None = None,
) -> Resolution:
    """Find the person's rows. With ``sink``, whole rows stream into it (access)."""
    given = values_by_name(identities)
    known: dict[FieldId, set[Any]] = {}
    asked: dict[tuple[TableId, str], set[Any]] = {}
    seen: dict[TableId, set[Any]] = {s.table: set() for s in plan.steps}
    keys: KeySet = {}
    counts = dict.fromkeys((s.table for s in plan.steps), 0)
    statements = passes = 0
    while True:
        passes += 1
        found_new = False
        for step in plan.steps:
            conn = stores.get(step.connection)
            columns = None if sink is not None else list(step.key_columns())
            pk = step.primary_key
            for lookup in step.lookups:
                if lookup.identity is not None:
                    values = set(given.get(lookup.identity, ()))
                else:
                    assert lookup.source is not None
                    values = known.get(lookup.source, set())
                done = asked.setdefault((step.table, lookup.column), set())
                new = values - done
                if not new:
                    continue
                done |= new
                statements += 1
                if not pk or len(pk) != 1:
                    _keys_for(keys, step, lookup.column, lookup.identity).values |= new
                elif columns is not None and isinstance(conn, ColumnReader):
                    # keys only (erasure): whole columns into sets, no Python work per row
                    for cols in conn.select_columns(step.table.table, lookup.column, new, columns):
                        by_name = dict(zip(columns, cols, strict=True))
                        ids = set(by_name[pk[0]]) - seen[step.table]
                        if ids:
                            seen[step.table] |= ids
                            counts[step.table] += len(ids)
                            found_new = True
                            _keys_for(keys, step, pk[0], None).values |= ids
                        for col in step.yields:
                            vals = set(by_name[col])
                            vals.discard(None)
                            if vals:
                                fid = FieldId(*_parts(step.table), col)
                                known.setdefault(fid, set()).update(vals)
                    continue
                for row in conn.select_keys(step.table.table, lookup.column, new, columns):
                    ident = _row_id(row, pk)
                    if ident in seen[step.table]:
                        continue
                    seen[step.table].add(ident)
                    counts[step.table] += 1
                    found_new = True
                    if len(pk) == 1:
                        _keys_for(keys, step, pk[0], None).values.add(row[pk[0]])
                    for col in step.yields:
                        if row.get(col) is not None:
                            known.setdefault(FieldId(*_parts(step.table), col), set()).add(row[col])
                    if sink is not None:
                        sink.add(step, row)
            if on_step is not None:
                on_step(step, counts[step.table])
        if not plan.cyclic or not found_new:
            break
    return Resolution(keys, counts, statements, passes)


def _parts(tid: TableId) -> tuple[str, str]:
    return tid.dataset, tid.table


def _row_id(row: Row, pk: tuple[str, ...]) -> Any:
    if len(pk) == 1:
        return row[pk[0]]
    if pk:
        return tuple(row[c] for c in pk)
    return tuple(sorted((k, repr(v)) for k, v in row.items()))


def _keys_for(keys: KeySet, step: Step, column: str, identity: str | None) -> TableKeys:
    entries = keys.setdefault(step.table, [])
    for entry in entries:
        if entry.column == column:
            return entry
    entry = TableKeys(column, set(), identity)
    entries.append(entry)
    return entry


def erase_keys(plan: Plan, keys: KeySet) -> KeySet:
    """Only the keys erasure writes by: the primary key, or the lookup columns without one."""
    out: KeySet = {}
    for step in plan.steps:
        pk = erase_key(step)
        entries = keys.get(step.table, [])
        out[step.table] = [e for e in entries if e.column == pk] if pk else list(entries)
    return out


def dump_keys(entry: TableKeys) -> str:
    """The values as JSON text for troth's state DB (identity values are never stored)."""
    return "[]" if entry.identity else json.dumps(sorted(entry.values, key=repr), default=str)


def load_keys(
    column: str, identity: str | None, text: str, given: Mapping[str, list[str]]
) -> TableKeys:
    values = set(given.get(identity, ())) if identity else set(json.loads(text))
    return TableKeys(column, values, identity)

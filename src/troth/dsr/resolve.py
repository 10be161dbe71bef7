"""Run a plan's steps: find the person's rows, set-based, across every store.

Each step reads its table once per lookup with all the values found so far (the connector binds
them: one array on PostgreSQL, batched IN lists elsewhere; never one statement per row), inside
the request's scope (a tenant column). Identity values are first normalised into their candidate
forms (:mod:`troth.datamap.normalise`), and the store compares the column's form with them, so
``Customer9@Example.com`` and ``+1 555-0199`` find the same rows on every engine. Values a step
yields feed the lookups of later steps. A cyclic plan repeats the steps with only the values not
looked up yet, until a pass finds nothing new.

Rows are told apart by their primary key, of any width; a table without one is read with one
statement per pass that excludes the rows found before (so each row is found, counted and
exported as often as it exists). Access hands whole rows to a :class:`RowSink` as they stream;
erasure keeps the :class:`KeySet` it will write by: the primary keys, or, for a table without a
key, the lookups that found its rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Protocol

from troth.connectors.base import BatchReader, ColumnReader, Connector, Row
from troth.connectors.match import Lookup as RowLookup
from troth.connectors.match import Rows
from troth.datamap.graph import FieldId, TableId
from troth.datamap.model import DataMap
from troth.datamap.normalise import candidates
from troth.dsr.identity import Identity
from troth.dsr.plan import Lookup, Mention, Plan, Step
from troth.dsr.stores import Stores


class RowSink(Protocol):
    def add(self, table: TableId, row: Row) -> None: ...

    def add_rows(
        self, table: TableId, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Rows, each a tuple of the values of ``columns`` (a :class:`BatchReader`'s)."""

    def mention(
        self, table: TableId, key: Mapping[str, Any], column: str, path: str, value: Any
    ) -> None: ...


@dataclass
class TableKeys:
    """The values that find one table's rows of the person, and how to compare them.

    ``columns`` is the primary key (``values`` hold its values, tuples when it has several
    columns), or, for a table without a key, the column one lookup compares. ``identity`` is set
    when the values are the request's own identity forms: those are never stored (the request
    gives them again when it is re-run). ``hashed``: the values are troth's keyed hashes of the
    column text (a key that is personal data, reloaded from troth's state).
    """

    columns: tuple[str, ...]
    values: set[Any] = field(default_factory=set)
    identity: str | None = None
    form: str | None = None
    stored: bool = False
    path: tuple[str, ...] = ()
    hashed: bool = False

    def lookup(self) -> RowLookup:
        return RowLookup(
            self.columns,
            _ordered(self.values),
            form=self.form,
            stored=self.stored,
            path=self.path,
            hashed=self.hashed,
        )


def _ordered(values: set[Any]) -> tuple[Any, ...]:
    """The values in a stable order: their own where they have one (keys of one type), else by
    ``repr`` (several types, ``None``)."""
    try:
        return tuple(sorted(values))
    except TypeError:
        return tuple(sorted(values, key=repr))


KeySet = dict[TableId, list[TableKeys]]


@dataclass
class Resolution:
    keys: KeySet
    counts: dict[TableId, int]
    statements: int
    passes: int
    mentions: dict[TableId, int] = field(default_factory=dict)


def identity_forms(datamap: DataMap, identities: Iterable[Identity]) -> dict[str, list[str]]:
    """Each identity name's candidate forms (normalised, deduplicated)."""
    out: dict[str, list[str]] = {}
    for ident in identities:
        spec = datamap.identity_spec(ident.name)
        forms = out.setdefault(ident.name, [])
        for c in candidates(spec, ident.value, where=f"--{ident.name.replace('_', '-')}"):
            if c not in forms:
                forms.append(c)
    return out


def scope_of(step_scope: Iterable[tuple[str, str]], scope: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple((col, scope[name]) for name, col in step_scope)


def resolve(
    plan: Plan,
    stores: Stores,
    identities: Iterable[Identity],
    *,
    datamap: DataMap,
    scope: Mapping[str, Any] | None = None,
    sink: RowSink | None = None,
    on_step: Callable[[Step, int], None] | None = None,
    keys_only: bool = False,
) -> Resolution:
    """Find the person's rows. With ``sink``, whole rows stream into it (access).

    ``keys_only`` (erasure): a table found only through its parents that yields nothing to other
    tables is not read at all; it is written by the parents' keys, which already say which of
    its rows are the person's (its count is then the write's)."""
    given = identity_forms(datamap, identities)
    scope = dict(scope or {})
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
            where = scope_of(step.scope, scope)
            new_by_lookup: list[tuple[Lookup, set[Any], set[Any]]] = []
            for lookup in step.lookups:
                values = _values(lookup, given, known)
                done = asked.setdefault((step.table, _asked_key(lookup)), set())
                new = values - done
                if new:
                    new_by_lookup.append((lookup, new, set(done)))
                    done |= new
            if not new_by_lookup:
                if on_step is not None:
                    on_step(step, counts[step.table])
                continue
            if keys_only and sink is None and _by_parents_only(step):
                continue  # written by its parents' keys (below), nothing to read
            if step.primary_key:
                for lookup, new, _ in new_by_lookup:
                    statements += 1
                    rows = Rows((_row_lookup(lookup, new),), where)
                    found_new |= _read_keyed(step, conn, rows, seen, counts, keys, known, sink)
            else:
                statements += 1
                rows = Rows(
                    tuple(_row_lookup(lk, new) for lk, new, _ in new_by_lookup),
                    where,
                    exclude=tuple(_row_lookup(lk, old) for lk, _, old in new_by_lookup if old),
                )
                found_new |= _read_keyless(step, conn, rows, counts, known, sink)
                for lookup, new, _ in new_by_lookup:
                    _keyless_keys(keys, step, lookup).values.update(new)
            if on_step is not None:
                on_step(step, counts[step.table])
        if not plan.cyclic or not found_new:
            break
    for step in plan.steps:
        if step.primary_key and step.lookups and all(lk.identity is None for lk in step.lookups):
            keys[step.table] = _by_parents(step, asked)
        elif keys_only and _by_parents_only(step):
            keys[step.table] = _by_parents(step, asked)
    mentions: dict[TableId, int] = {}
    for m in plan.mentions:
        statements += 1
        mentions[m.table] = mentions.get(m.table, 0) + _read_mentions(
            m, stores.get(m.connection), given.get(m.identity, []), scope, sink
        )
    return Resolution(keys, counts, statements, passes, mentions)


def _by_parents(step: Step, asked: Mapping[tuple[TableId, str], set[Any]]) -> list[TableKeys]:
    """A table found only through other tables' keys is written by those keys (one indexed
    ``WHERE fk = ANY(:parents)``, as hand-written SQL would), not by each of its rows' keys: the
    same rows, and the parents' keys do not change when the person's rows are masked."""
    out = []
    for lk in step.lookups:
        values = asked.get((step.table, _asked_key(lk)), set())
        if values:
            out.append(TableKeys((lk.column,), set(values)))
    return out


def _by_parents_only(step: Step) -> bool:
    """Found only through other tables' keys, and yielding nothing to other tables."""
    return (
        bool(step.lookups) and not step.yields and all(lk.identity is None for lk in step.lookups)
    )


def _asked_key(lookup: Lookup) -> str:
    return lookup.column + "|" + str(lookup.source)


def _values(
    lookup: Lookup, given: Mapping[str, list[str]], known: Mapping[FieldId, set[Any]]
) -> set[Any]:
    if lookup.identity is not None:
        return set(given.get(lookup.identity, ()))
    assert lookup.source is not None
    return set(known.get(lookup.source, set()))


def _row_lookup(lookup: Lookup, values: Iterable[Any]) -> RowLookup:
    if lookup.identity is not None:
        return RowLookup.of(
            lookup.column, values, form=lookup.form, stored=lookup.stored, path=lookup.path
        )
    return RowLookup.of(lookup.column, values)


def _read_keyed(
    step: Step,
    conn: Connector,
    rows: Rows,
    seen: dict[TableId, set[Any]],
    counts: dict[TableId, int],
    keys: KeySet,
    known: dict[FieldId, set[Any]],
    sink: RowSink | None,
) -> bool:
    pk = step.primary_key
    found_new = False
    entry = _keyed_keys(keys, step)
    if sink is None and isinstance(conn, ColumnReader):
        # keys only (erasure): whole columns into sets, no Python work per row
        columns = list(step.key_columns())
        for cols in conn.select_columns(step.table.table, rows, columns):
            by_name = dict(zip(columns, cols, strict=True))
            ids = (
                set(by_name[pk[0]])
                if len(pk) == 1
                else set(zip(*(by_name[c] for c in pk), strict=True))
            )
            ids -= seen[step.table]
            if ids:
                seen[step.table] |= ids
                counts[step.table] += len(ids)
                entry.values |= ids
                found_new = True
            for col in step.yields:
                vals = {v for v in by_name[col] if v is not None and _hashable(v)}
                if vals:
                    known.setdefault(FieldId(*_parts(step.table), col), set()).update(vals)
        return found_new
    if sink is not None and isinstance(conn, BatchReader):
        # access: whole rows, batch by batch, as the driver's tuples
        seen_here = seen[step.table]
        for names, batch in conn.select_batches(step.table.table, rows):
            key = itemgetter(*(names.index(c) for c in pk))
            fresh, fresh_ids = _fresh(batch, list(map(key, batch)), seen_here)
            if fresh:
                counts[step.table] += len(fresh)
                entry.values.update(fresh_ids)
                found_new = True
                _yield_batch(step, names, fresh, known)
                sink.add_rows(step.table, names, fresh)
        return found_new
    columns_or_all = None if sink is not None else list(step.key_columns())
    for row in conn.select_rows(step.table.table, rows, columns_or_all):
        ident = row[pk[0]] if len(pk) == 1 else tuple(row[c] for c in pk)
        if ident in seen[step.table]:
            continue
        seen[step.table].add(ident)
        counts[step.table] += 1
        entry.values.add(ident)
        found_new = True
        _yield(step, row, known)
        if sink is not None:
            sink.add(step.table, row)
    return found_new


def _read_keyless(
    step: Step,
    conn: Connector,
    rows: Rows,
    counts: dict[TableId, int],
    known: dict[FieldId, set[Any]],
    sink: RowSink | None,
) -> bool:
    found_new = False
    if sink is not None and isinstance(conn, BatchReader):
        for names, batch in conn.select_batches(step.table.table, rows):
            counts[step.table] += len(batch)
            found_new = found_new or bool(batch)
            _yield_batch(step, names, batch, known)
            sink.add_rows(step.table, names, batch)
        return found_new
    columns = None if sink is not None else list(step.key_columns())
    for row in conn.select_rows(step.table.table, rows, columns):
        counts[step.table] += 1
        found_new = True
        _yield(step, row, known)
        if sink is not None:
            sink.add(step.table, row)
    return found_new


def _read_mentions(
    m: Mention,
    conn: Connector,
    forms: list[str],
    scope: Mapping[str, Any],
    sink: RowSink | None,
) -> int:
    if not forms:
        return 0
    rows = mention_rows(m, forms, scope)
    if sink is None:
        return conn.count_rows(m.table.table, rows)
    n = 0
    columns = list(dict.fromkeys([*m.primary_key, m.column]))
    for row in conn.select_rows(m.table.table, rows, columns):
        n += 1
        key = {c: row[c] for c in m.primary_key}
        sink.mention(m.table, key, m.column, m.path_text, forms[0])
    return n


def mention_rows(m: Mention, forms: Iterable[str], scope: Mapping[str, Any]) -> Rows:
    if m.text:
        return Rows((RowLookup.of(m.column, forms, text=True),), scope_of(m.scope, scope))
    lookup = RowLookup.of(m.column, forms, form=m.form, path=m.path, array=True)
    return Rows((lookup,), scope_of(m.scope, scope))


def _yield(step: Step, row: Row, known: dict[FieldId, set[Any]]) -> None:
    for col in step.yields:
        v = row.get(col)
        if v is not None and _hashable(v):
            known.setdefault(FieldId(*_parts(step.table), col), set()).add(v)


def _fresh(
    batch: Sequence[tuple[Any, ...]], ids: list[Any], seen: set[Any]
) -> tuple[Sequence[tuple[Any, ...]], list[Any]]:
    """The rows of ``batch`` (and their keys ``ids``) not in ``seen``, which gains them."""
    if seen.isdisjoint(ids):
        unique = set(ids)
        if len(unique) == len(ids):  # the usual batch: every row new
            seen |= unique
            return batch, ids
    rows, new = [], []
    for ident, row in zip(ids, batch, strict=True):
        if ident not in seen:
            seen.add(ident)
            rows.append(row)
            new.append(ident)
    return rows, new


def _yield_batch(
    step: Step, names: list[str], rows: Sequence[tuple[Any, ...]], known: dict[FieldId, set[Any]]
) -> None:
    """:func:`_yield` for a batch of rows (tuples of the values of ``names``)."""
    for col in step.yields:
        if col not in names:
            continue
        value = itemgetter(names.index(col))
        try:
            found = set(map(value, rows))
        except TypeError:  # a JSON value (a dict or a list) in the column
            found = {v for v in map(value, rows) if _hashable(v)}
        found.discard(None)
        if found:
            known.setdefault(FieldId(*_parts(step.table), col), set()).update(found)


def _hashable(v: Any) -> bool:
    return not isinstance(v, dict | list)


def _parts(tid: TableId) -> tuple[str, str]:
    return tid.dataset, tid.table


def _keyed_keys(keys: KeySet, step: Step) -> TableKeys:
    entries = keys.setdefault(step.table, [])
    if not entries:
        entries.append(TableKeys(step.primary_key))
    return entries[0]


def _keyless_keys(keys: KeySet, step: Step, lookup: Lookup) -> TableKeys:
    entries = keys.setdefault(step.table, [])
    for entry in entries:
        if (
            entry.columns == (lookup.column,)
            and entry.identity == lookup.identity
            and (entry.path == lookup.path)
        ):
            return entry
    entry = TableKeys(
        (lookup.column,),
        identity=lookup.identity,
        form=lookup.form,
        stored=lookup.stored,
        path=lookup.path,
    )
    entries.append(entry)
    return entry


# --- the key set in troth's state (see troth.dsr.progress) ---------------------------------------


def dump_keys(entry: TableKeys, personal: bool, hash_text: Callable[[Any], str]) -> str:
    """The values as JSON text for troth's state DB: identity values are never stored, and the
    values of a key that is personal data (an e-mail primary key) only as keyed hashes."""
    if entry.identity:
        values: list[Any] = []
    elif personal:
        values = sorted(
            ([hash_text(x) for x in v] if isinstance(v, tuple) else hash_text(v))
            for v in entry.values
        )
    else:
        values = sorted(([*v] if isinstance(v, tuple) else v for v in entry.values), key=repr)
    return json.dumps(
        {
            "values": values,
            "hashed": personal and not entry.identity,
            "form": entry.form,
            "stored": entry.stored,
            "path": list(entry.path),
        },
        default=str,
    )


def load_keys(
    columns: tuple[str, ...], identity: str | None, text: str, given: Mapping[str, list[str]]
) -> TableKeys:
    data = json.loads(text)
    if identity:
        values: set[Any] = set(given.get(identity, ()))
    else:
        values = {tuple(v) if isinstance(v, list) else v for v in data["values"]}
    return TableKeys(
        columns,
        values,
        identity,
        data.get("form"),
        bool(data.get("stored")),
        tuple(data.get("path") or ()),
        bool(data.get("hashed")),
    )

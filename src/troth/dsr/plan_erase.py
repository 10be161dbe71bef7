"""The erasure half of a plan: per reached table, what erasure does to the person's rows (mask,
delete, keep), what legal holds keep and until when, and which references point at its rows; the
tables in foreign-key-safe order (children first).

See :mod:`troth.dsr.plan`, which calls :func:`erase_actions` for an erasure plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from troth.datamap.erasure import FieldAction, field_actions
from troth.datamap.graph import Graph, TableId
from troth.datamap.model import EraseAction, LegalHold, RefKind, Table
from troth.dsr.plan_types import Hold, Kept, Referrer, Step, TableAction
from troth.dsr.sqltext import delete_sql, mask_sql
from troth.errors import RequestError


def hold_via(tid: TableId, table: Table, column: str) -> tuple[str, tuple[str, str, str] | None]:
    """``(column, via)`` for a hold's ``since``: a column of the table, or ``other.column`` of a
    table one of its fields references (raises when no field does)."""
    other, dot, col = column.rpartition(".")
    if not dot:
        return column, None
    for f in table.fields:
        for ref in f.references:
            ds, target, key = ref.target(tid.dataset)
            if ds == tid.dataset and target == other:
                return col, (f.name, target, key)
    raise RequestError(
        f"a hold of {tid} runs since {column}, but no field of the table references {other!r}",
        where=f"data map {tid}",
        fix=f"reference {other} from a field of {tid.table}, or name a column of the table",
    )


def _holds(tid: TableId, table: Table) -> tuple[tuple[Hold, ...], tuple[Kept, ...]]:
    holds: list[Hold] = []
    kept: list[Kept] = []

    def add(h: LegalHold, fld: str) -> None:
        ends = h.ends()
        if ends is None:
            holds.append(Hold(h.id, fld))
        else:
            since, via = hold_via(tid, table, ends[1])
            holds.append(Hold(h.id, fld, ends[0], since, via))
        kept.append(Kept(fld, h.id, h.reason, h.law, h.for_))

    for h in table.legal_holds:
        add(h, "*")
    for f in table.fields:
        for h in f.legal_holds:
            add(h, f.name)
    return tuple(holds), tuple(kept)


def _table_action(
    tid: TableId,
    connection: str,
    table: Table,
    step: Step,
    graph: Graph,
    defaults: Mapping[str, str],
) -> TableAction:
    actions = field_actions(table, defaults)
    problems = [a for a in actions if a.problem]
    if problems:
        a = problems[0]
        raise RequestError(
            f"erasure cannot handle personal field {tid}.{a.address}: {a.problem}",
            where="data map",
            fix="erase the table's rows (`erase: delete_row`), keep them with a legal hold, or "
            "stop marking the key personal; `troth check` lists every field's erasure action",
        )
    holds, kept = _holds(tid, table)
    referrers = _referrers(graph, tid)
    forever = {h.field for h in holds if h.period is None}
    masks = _masks([a for a in actions if a.field not in forever])
    json_masks = tuple(
        (a.field, a.path, a.array, a.strategy or "redact")
        for a in actions
        if a.path and a.action in ("mask", "delete_row")
    )
    table_forever = any(h.field == "*" and h.period is None for h in holds)
    if table_forever:
        return TableAction(tid, connection, "keep", kept=kept, holds=holds)
    key = step.primary_key or tuple(lk.column for lk in step.lookups[:1])
    field_held = any(h.field != "*" for h in holds)
    link_only = bool(step.lookups) and all(lk.kind is RefKind.link for lk in step.lookups)
    delete = (table.erase is EraseAction.delete_row or link_only) and not field_held
    if delete:
        return TableAction(
            tid,
            connection,
            "delete_row",
            masks,
            kept,
            delete_sql(tid.table, key),
            json_masks,
            holds,
            referrers,
        )
    if not masks and not json_masks:
        return TableAction(tid, connection, "none", kept=kept, holds=holds, referrers=referrers)
    return TableAction(
        tid,
        connection,
        "mask",
        masks,
        kept,
        mask_sql(tid.table, masks, key),
        json_masks,
        holds,
        referrers,
    )


def _masks(actions: Sequence[FieldAction]) -> tuple[tuple[str, str], ...]:
    """Column masks: the field's strategy for mask, keep-until-the-hold-ends and delete_row."""
    return tuple(
        (a.field, a.strategy)
        for a in actions
        if not a.path and a.action in ("mask", "delete_row", "keep") and a.strategy
    )


def _referrers(graph: Graph, tid: TableId) -> tuple[Referrer, ...]:
    out = {
        Referrer(lk.child.table_id, (lk.child.field,), (lk.parent.field,), lk.kind.value)
        for lk in graph.links_to(tid)
        if lk.child.dataset == tid.dataset
    }
    return tuple(sorted(out, key=lambda r: (str(r.table), r.columns)))


def erase_actions(
    graph: Graph, steps: Sequence[Step], defaults: Mapping[str, str]
) -> tuple[TableAction, ...]:
    actions = {
        s.table: _table_action(s.table, s.connection, graph.tables[s.table], s, graph, defaults)
        for s in steps
    }
    # a table whose field references another table's field is its child: write children first
    parents: dict[TableId, set[TableId]] = {tid: set() for tid in actions}
    for link in graph.links:
        child, parent = link.child.table_id, link.parent.table_id
        if child in actions and parent in actions and child != parent:
            parents[child].add(parent)
    ordered: list[TableId] = []
    placed: set[TableId] = set()
    pending = sorted(actions, key=lambda t: next(s.index for s in steps if s.table == t))

    def place(tid: TableId, path: frozenset[TableId]) -> None:
        if tid in placed or tid in path:  # placed, or a reference cycle (broken here)
            return
        for child in pending:
            if tid in parents[child]:
                place(child, path | {tid})
        placed.add(tid)
        ordered.append(tid)

    for tid in pending:
        place(tid, frozenset())
    return tuple(actions[t] for t in ordered)

"""Map checks that keep requests safe by construction (``troth check``, ``troth datamap check``).

``map.no-erasure-action``  a personal field erasure cannot handle (a personal key of a masked
                           table): an erasure would refuse, so ``check`` says so first;
``map.walk-other-subject`` a followed reference (owns, link, same_person) between tables of two
                           different data subjects: a customer's request would reach employees;
``map.scope-column``       a scope names a column the table does not map;
``map.hold-anchor``        a hold's ``for: ... since <column>`` names no mapped column (or a table
                           no field references);

Each is a function of a :class:`DataMapDocument` and the policy's erasure defaults, so ``troth
datamap check`` runs them without a policy too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from troth.datamap.checks import map_issue
from troth.datamap.erasure import field_actions, policy_erasure_defaults
from troth.datamap.graph import Graph
from troth.datamap.loader import DataMapDocument
from troth.datamap.model import RefKind, Table
from troth.policy.checks.base import CheckContext, Issue, check

_FOLLOWED = (RefKind.owns, RefKind.link, RefKind.same_person)


def erasure_problems(dm: DataMapDocument, defaults: Mapping[str, str]) -> Iterator[Issue]:
    for ds, table in dm.datamap.tables():
        for action in field_actions(table, defaults):
            if not action.problem:
                continue
            fld = table.field(action.field)
            yield map_issue(
                dm,
                fld if fld is not None else table,
                f"{ds.name}.{table.name}.{action.address} is personal data erasure cannot "
                f"handle: {action.problem}",
                field="name",
                fix="erase the table's rows (`erase: delete_row`), keep them with a legal hold "
                "(`legal_holds:`), or do not mark the key as personal",
            )


def other_subject_walks(dm: DataMapDocument, graph: Graph | None = None) -> Iterator[Issue]:
    graph = graph or Graph.build(dm.datamap)
    for link in graph.links:
        if link.kind not in _FOLLOWED:
            continue
        child = graph.tables[link.child.table_id]
        parent = graph.tables[link.parent.table_id]
        if child.subject and parent.subject and child.subject != parent.subject:
            ref = next(
                r
                for r in child.field(link.child.field).references  # type: ignore[union-attr]
                if r.target(link.child.dataset)
                == (
                    link.parent.dataset,
                    link.parent.table,
                    link.parent.field,
                )
            )
            yield map_issue(
                dm,
                ref,
                f"{link.child} -> {link.parent} is followed (`kind: {link.kind.value}`) between "
                f"rows of {parent.subject!r} and rows of {child.subject!r}: a request for one "
                "person would reach other people's rows",
                field="kind",
                fix="mark it `kind: refers` (the rows refer to each other, they are not the same "
                "person's), or correct the tables' `subject`",
            )


def scope_columns(dm: DataMapDocument) -> Iterator[Issue]:
    for ds, table in dm.datamap.tables():
        for name, column in table.scope.items():
            if table.field(column) is None:
                yield map_issue(
                    dm,
                    table,
                    f"table {ds.name}.{table.name} is scoped by {name!r} on column {column!r}, "
                    "which the table does not map",
                    field="scope",
                    fix=f"add the field {column!r} to the table, or correct the scope",
                )


def hold_anchors(dm: DataMapDocument) -> Iterator[Issue]:
    for ds, table in dm.datamap.tables():
        holds = [(h, table) for h in table.legal_holds]
        holds += [(h, table) for f in table.fields for h in f.legal_holds]
        for hold, t in holds:
            ends = hold.ends()
            if ends is None:
                continue
            other, dot, column = ends[1].rpartition(".")
            target: Table | None = t
            if dot:
                refs = [
                    r.target(ds.name)
                    for f in t.fields
                    for r in f.references
                    if r.target(ds.name)[:2] == (ds.name, other)
                ]
                target = dm.datamap.resolve(ds.name, other) if refs else None
            if target is None or target.field(column) is None:
                where = f"table {other}" if dot and target is None else f"column {ends[1]}"
                yield map_issue(
                    dm,
                    hold,
                    f"hold {hold.id!r} of {ds.name}.{t.name} runs since {ends[1]}, but the map "
                    f"has no such {where.split(maxsplit=1)[0]} "
                    + ("referenced by the table" if dot and target is None else "mapped"),
                    field="for",
                    fix="name a timestamp column of the table, or `<table>.<column>` of a table "
                    "one of its fields references",
                )


@check(
    "map.no-erasure-action",
    "error",
    "A personal field that erasure cannot handle (an erasure would refuse)",
)
def map_no_erasure_action(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        defaults = policy_erasure_defaults(ctx.policy.data_categories)
        yield from erasure_problems(ctx.datamap, defaults)
        for svc in ctx.datamap.datamap.services:
            for res in svc.resources:
                if res.erase is None:
                    yield map_issue(
                        ctx.datamap,
                        res,
                        f"service resource {svc.name}.{res.name} declares no erase request: "
                        "an erasure that reaches it would refuse",
                        fix="add `erase:` with the service's delete endpoint, or remove the "
                        "resource",
                    )


@check(
    "map.walk-other-subject",
    "error",
    "A followed reference between the rows of two different data subjects",
)
def map_walk_other_subject(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        yield from other_subject_walks(ctx.datamap)


@check("map.scope-column", "error", "A scope on a column the table does not map")
def map_scope_column(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        yield from scope_columns(ctx.datamap)


@check("map.hold-anchor", "error", "A hold that ends since a column the map does not have")
def map_hold_anchor(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is not None:
        yield from hold_anchors(ctx.datamap)

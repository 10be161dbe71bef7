"""Map-aware retention checks run by ``troth check`` (live ones: ``troth retention plan``).

``retention.unbound``               a rule with a period that covers no mapped field;
``retention.no-timestamp``          a rule covers a table but no timestamp fits its trigger there
                                    (the reason says which: none marked, a marked one whose name
                                    does not fit, or one reached only through a ``refers``);
``map.no-retention-timestamp``      a table under a retention rule for which binding finds no
                                    timestamp at all (not in the table, nor where its rows belong);
``retention.timestamp-not-a-timestamp``  a ``retention_timestamp`` field whose declared
                                    ``data_type`` is not a date/time type;
``retention.condition``             a table's ``retention:`` entry names an unknown rule, a rule
                                    that does not cover the table, or a column not in the map;
``retention.hold-ends``             a hold's ``for: <period> since <column>`` names a column the
                                    table does not map;
``retention.delete-cycle``          tables that reference each other in a cycle, each under a
                                    delete rule: no order of deletes keeps the references intact;
``retention.kept-parents``          (info) rows a delete rule covers that rows which stay can
                                    still point at: anonymised instead of deleted while they do.
"""

from __future__ import annotations

from collections.abc import Iterator

from troth.datamap.checks import map_issue
from troth.datamap.graph import Graph, holds_personal_data
from troth.errors import RetentionError
from troth.policy.checks.base import CheckContext, Issue, check
from troth.policy.model import RetentionAction
from troth.policy.taxonomy import covers
from troth.retention.bind import bind_rules, covered_fields
from troth.retention.paths import why_no_timestamp
from troth.retention.safety import other_store_referrers, referrers, run_order

_TIME_TYPES = ("date", "time")


@check("retention.unbound", "warning", "A retention rule with a period that covers no mapped field")
def unbound(ctx: CheckContext) -> Iterator[Issue]:
    if ctx.datamap is None:
        return
    for rule in bind_rules(ctx.policy, ctx.datamap.datamap).unmapped:
        yield ctx.issue(
            rule,
            f"retention rule {rule.id!r} covers no field of the data map, so no sweep enforces it",
            field="categories",
            fix="map the fields that hold these categories, or correct the rule's categories",
        )


@check("retention.no-timestamp", "error", "A retention rule with no timestamp to run from")
def no_timestamp(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    for u in bind_rules(ctx.policy, dm.datamap).unbound:
        yield map_issue(
            dm,
            u.table,
            f"retention rule {u.rule.id!r} covers table {u.dataset}.{u.table.name} but cannot "
            f"run there: {u.reason}",
            field="name",
            fix=u.fix or None,
        )


@check(
    "map.no-retention-timestamp",
    "warning",
    "A table under a retention rule for which no timestamp can be found",
)
def map_no_retention_timestamp(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    rules = [r for r in ctx.policy.retention if r.enforced_period is not None]
    for ds, table in dm.datamap.tables():
        if not holds_personal_data(table):
            continue
        cats = table.categories()
        ruled = [r for r in rules if any(covers(rc, c) for rc in r.categories for c in cats)]
        missing = [
            r
            for r in ruled
            if any(
                u.dataset == ds.name and u.table is table
                for u in bind_rules(ctx.policy, dm.datamap, rules=[r.id]).unbound
            )
        ]
        if not missing:
            continue
        reason, fix = why_no_timestamp(dm.datamap, ds.name, table, missing[0].enforced_trigger)
        names = ", ".join(repr(r.id) for r in missing)
        yield map_issue(
            dm,
            table,
            f"table {ds.name}.{table.name} holds data under retention rule"
            f"{'s' * (len(missing) > 1)} {names} but no timestamp can be found for its rows "
            f"({reason}), so expired rows cannot be found",
            field="name",
            fix=fix,
        )


@check(
    "retention.timestamp-not-a-timestamp",
    "error",
    "A retention timestamp declared with a type that is not a date or time",
)
def not_a_timestamp(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    for ds, table, f in dm.datamap.fields():
        if (
            f.retention_timestamp
            and f.data_type
            and not any(t in f.data_type.lower() for t in _TIME_TYPES)
        ):
            yield map_issue(
                dm,
                f,
                f"{ds.name}.{table.name}.{f.name} drives retention but is declared "
                f"{f.data_type!r}, not a date/time type",
                field="data_type",
                fix="mark a DATE/TIMESTAMP column with `retention_timestamp: true`",
            )


@check("retention.condition", "error", "A retention row condition that cannot apply")
def condition(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    rules = {r.id: r for r in ctx.policy.retention}
    for ds, table in dm.datamap.tables():
        for entry in table.retention:
            where = f"{ds.name}.{table.name}"
            rule = rules.get(entry.rule) if entry.rule else None
            if entry.rule and rule is None:
                yield map_issue(
                    dm,
                    entry,
                    f"the retention entry of {where} names rule {entry.rule!r}, which the policy "
                    "does not have",
                    field="rule",
                    fix=f"use one of: {', '.join(sorted(rules))}, or leave `rule` out (every "
                    "rule that covers the table)",
                )
            elif rule is not None and not covered_fields(rule, table):
                yield map_issue(
                    dm,
                    entry,
                    f"the retention entry of {where} names rule {rule.id!r}, which covers no "
                    "field of the table, so the condition never applies",
                    field="rule",
                    fix="name a rule whose categories cover one of the table's fields",
                )
            for column in entry.where:
                if table.field(column) is None:
                    yield map_issue(
                        dm,
                        entry,
                        f"the retention condition of {where} names column {column!r}, which "
                        "the map does not declare in the table",
                        field=f"where.{column}",
                        fix=f"name a field of the table ({', '.join(f.name for f in table.fields)})"
                        ", or declare the column",
                    )


@check("retention.hold-ends", "error", "A hold that ends by a column the table does not map")
def hold_ends(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    for ds, table in dm.datamap.tables():
        holds = [*table.legal_holds, *(h for f in table.fields for h in f.legal_holds)]
        for hold in holds:
            ends = hold.ends()
            if ends is None or table.field(ends[1]) is not None:
                continue
            yield map_issue(
                dm,
                hold,
                f"hold {hold.id!r} of {ds.name}.{table.name} ends {ends[0]} since {ends[1]!r}, "
                "which is not a field of the table in the map",
                field="for",
                fix="name a date/time column of the same table (`for: 10 years since issued_at`)",
            )


@check("retention.delete-cycle", "error", "Delete rules on tables that reference each other")
def delete_cycle(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    graph = Graph.build(dm.datamap)
    bound = bind_rules(ctx.policy, dm.datamap)
    for ds in dm.datamap.datasets():
        mine = [b for b in bound.bindings if b.dataset == ds.name]
        try:
            run_order(mine, referrers(graph, ds.name))
        except RetentionError as exc:
            yield map_issue(dm, ds, exc.message, field="name", fix=exc.fix)


@check("retention.kept-parents", "info", "Rows a delete rule anonymises while others point at them")
def kept_parents(ctx: CheckContext) -> Iterator[Issue]:
    dm = ctx.datamap
    if dm is None:
        return
    graph = Graph.build(dm.datamap)
    bound = bind_rules(ctx.policy, dm.datamap)
    for b in bound.bindings:
        if b.action is not RetentionAction.delete:
            continue
        refs = referrers(graph, b.dataset).get(b.table, [])
        table = dm.datamap.resolve(b.dataset, b.table)
        if refs:
            yield map_issue(
                dm,
                table,
                f"rule {b.rule.id!r} deletes rows of {b.dataset}.{b.table} that rows of "
                f"{', '.join(r.describe() for r in refs)} can point at: a row that a row which "
                "stays (not due, held, or under no delete rule) still points at is anonymised "
                "instead of deleted, and deleted once nothing that stays points at it",
                field="name",
                fix="nothing to do if that is intended; `troth retention plan` counts the rows "
                "(the live schema's foreign keys count too)",
            )
        for lk in other_store_referrers(graph, b.dataset, b.table):
            yield map_issue(
                dm,
                table,
                f"rule {b.rule.id!r} deletes rows of {b.dataset}.{b.table} that {lk.child} in "
                "another store references: a sweep cannot see those rows, which may be left "
                "pointing at deleted rows",
                field="name",
                fix="let the rule anonymise instead (`action: anonymise`), or sweep the other "
                "store's rows first with a rule of their own",
            )

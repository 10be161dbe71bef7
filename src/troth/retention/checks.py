"""Map-aware retention checks run by ``troth check`` (live ones: ``troth retention plan``).

``retention.unbound``               a rule with a period that covers no mapped field;
``retention.no-timestamp``          a rule covers a table but no timestamp fits its trigger there;
``retention.timestamp-not-a-timestamp``  a ``retention_timestamp`` field whose declared
                                    ``data_type`` is not a date/time type.
"""

from __future__ import annotations

from collections.abc import Iterator

from troth.datamap.checks import map_issue
from troth.policy.checks.base import CheckContext, Issue, check
from troth.retention.bind import bind_rules

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
            fix="mark the column that starts the period (created_at, last_login, closed_at...) "
            "with `retention_timestamp: true`, in the table or a table it references",
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

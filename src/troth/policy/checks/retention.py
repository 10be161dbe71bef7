"""Checks on retention rules and legal holds."""

from __future__ import annotations

from collections.abc import Iterator

from troth.policy.checks.base import CheckContext, Issue, ancestors, check
from troth.policy.model import Storage


def _transient(ctx: CheckContext) -> set[str]:
    """Categories of restricted sources that are never stored: they need no retention rule."""
    return {
        k for s in ctx.policy.restricted_sources if s.storage is Storage.none for k in s.categories
    }


@check("retention.missing", "error", "A collected category without a retention rule")
def retention_missing(ctx: CheckContext) -> Iterator[Issue]:
    ruled = {k for rule in ctx.policy.retention for k in rule.categories}
    transient = _transient(ctx)
    for key in ctx.collected:
        chain = list(ancestors(key))
        if any(a in ruled for a in chain) or any(a in transient for a in chain):
            continue
        decl = next((c for c in ctx.policy.data_categories if c.key == key), None)
        element = decl or next(cp for cp in ctx.policy.collection_points if key in cp.categories)
        yield ctx.issue(
            element,
            f"{key!r} is collected but no retention rule says how long it is kept",
            fix="add a rule under `retention:` with its categories, period, trigger and action "
            "(GDPR Art. 5(1)(e), 13(2)(a))",
        )


@check("retention.no-period", "warning", "A retention rule without a period")
def no_period(ctx: CheckContext) -> Iterator[Issue]:
    for rule in ctx.policy.retention:
        if rule.period is None:
            enforced = (
                f"; sweeps enforce the assumed period {rule.assumed_period}, not a published one"
                if rule.assumed_period is not None
                else ", so it cannot be enforced"
            )
            yield ctx.issue(
                rule,
                f"retention rule {rule.id!r} states no period{enforced}",
                field="period",
                fix="state a period such as `2 years` with its trigger, or the criteria used "
                "to determine it (GDPR Art. 13(2)(a))",
            )


@check("retention.hold-no-law", "warning", "A legal hold that names no law")
def hold_without_law(ctx: CheckContext) -> Iterator[Issue]:
    for rule in ctx.policy.retention:
        for hold in rule.legal_holds:
            if not hold.law:
                yield ctx.issue(
                    hold,
                    f"legal hold {hold.id!r} of rule {rule.id!r} names no law that requires it",
                    fix="name the statute under `law:` (e.g. the tax code article)",
                )
            if hold.period is None:
                yield ctx.issue(
                    hold,
                    f"legal hold {hold.id!r} of rule {rule.id!r} has no end",
                    field="period",
                    fix="state how long the law requires the data to be kept",
                )


@check("retention.hold-outside-rule", "error", "A legal hold on categories its rule does not cover")
def hold_outside_rule(ctx: CheckContext) -> Iterator[Issue]:
    for rule in ctx.policy.retention:
        ruled = set(rule.categories)
        for hold in rule.legal_holds:
            for i, key in enumerate(hold.categories):
                if not any(a in ruled for a in ancestors(key)):
                    yield ctx.issue(
                        hold,
                        f"legal hold {hold.id!r} names {key!r}, which rule {rule.id!r} does not "
                        "cover",
                        field=f"categories.{i}",
                        fix="add it to the rule's categories or move the hold to the right rule",
                    )

"""Checks on recipients, sharing commitments and restricted sources."""

from __future__ import annotations

from collections.abc import Iterator

from troth.policy.checks.base import CheckContext, Issue, ancestors, check
from troth.policy.model import CommitmentKind, RecipientType, Storage
from troth.policy.taxonomy import covers


@check("recipient.uncollected-category", "error", "A recipient receives a category never collected")
def recipient_uncollected(ctx: CheckContext) -> Iterator[Issue]:
    for r in ctx.policy.recipients:
        if r.categories == "all":
            continue
        for i, key in enumerate(r.categories):
            if not ctx.is_collected(key):
                name = ctx.doc.taxonomy.name("data_categories", key)
                yield ctx.issue(
                    r,
                    f"recipient {r.id!r} receives {key!r} ({name}), which the policy never "
                    "says it collects",
                    field=f"categories.{i}",
                    fix="list it among the collected data (GDPR Art. 13(1)(e), 14(1)(d)) or stop "
                    "disclosing it",
                )


@check("sharing.contradiction", "error", "A no-sharing statement contradicted by a recipient")
def sharing_contradiction(ctx: CheckContext) -> Iterator[Issue]:
    third = [
        r
        for r in ctx.policy.recipients
        if r.type in (RecipientType.third_party, RecipientType.joint_controller)
    ]
    for c in ctx.policy.commitments:
        if c.kind is CommitmentKind.no_third_party_sharing:
            for r in third:
                yield ctx.issue(
                    r,
                    f"recipient {r.id!r} is a {r.type.value.replace('_', ' ')}, but commitment "
                    f"{c.id!r} promises no sharing with third parties",
                    field="type",
                    fix="remove the recipient, make it a processor under contract, or change "
                    "the commitment",
                )
        if c.kind is CommitmentKind.no_sale:
            for r in ctx.policy.recipients:
                for pid in r.purposes:
                    p = ctx.policy.purpose(pid)
                    if p is not None and covers("sales", p.use):
                        yield ctx.issue(
                            r,
                            f"recipient {r.id!r} receives data for sale ({pid}), but commitment "
                            f"{c.id!r} promises no sale",
                            field="purposes",
                            fix="stop the sale or change the commitment",
                        )


@check("recipient.authority-no-legal-request", "error", "An authority without a legal request")
def authority_without_request(ctx: CheckContext) -> Iterator[Issue]:
    for r in ctx.policy.recipients:
        if r.type is RecipientType.authority and not r.legal_request_required:
            yield ctx.issue(
                r,
                f"authority {r.id!r} can receive data without a legal request",
                field="legal_request_required",
                fix="set `legal_request_required: true`: disclose to authorities only on a "
                "verified legal request",
            )


@check("recipient.no-categories", "warning", "A recipient that names no categories")
def recipient_no_categories(ctx: CheckContext) -> Iterator[Issue]:
    for r in ctx.policy.recipients:
        if r.categories != "all" and not r.categories:
            yield ctx.issue(
                r,
                f"recipient {r.id!r} names no data categories, so disclosures cannot be minimised",
                fix="list what it receives under `categories:`",
            )


def _restricted_purpose_issues(ctx: CheckContext) -> Iterator[Issue]:
    for src in ctx.policy.restricted_sources:
        cats = set(src.categories)
        for pid in src.allowed_purposes:
            p = ctx.policy.purpose(pid)
            if p is None:
                continue
            for bad in src.forbidden_uses:
                if covers(bad, p.use):
                    yield ctx.issue(
                        src,
                        f"{src.name} may be used for purpose {pid!r} ({p.use}), a forbidden use "
                        f"({bad})",
                        field="allowed_purposes",
                        fix=f"remove {pid!r} from allowed_purposes ({src.program_policy or 'the '}"
                        "source's policy forbids it)",
                    )
        for p in ctx.policy.purposes:
            uses_source = any(any(a in cats for a in ancestors(k)) for k in p.categories)
            if not uses_source or p.id in src.allowed_purposes:
                continue
            forbidden = next((b for b in src.forbidden_uses if covers(b, p.use)), None)
            reason = f"a forbidden use ({forbidden})" if forbidden else "not an allowed purpose"
            yield ctx.issue(
                p,
                f"purpose {p.id!r} ({p.use}) uses data from restricted source {src.id!r}: {reason}",
                field="categories",
                fix=f"remove the {src.name} categories from this purpose",
            )


@check("restricted.forbidden-purpose", "error", "Restricted-source data used for a forbidden use")
def restricted_forbidden(ctx: CheckContext) -> Iterator[Issue]:
    yield from _restricted_purpose_issues(ctx)


@check("restricted.stored", "error", "Restricted-source data stored")
def restricted_stored(ctx: CheckContext) -> Iterator[Issue]:
    for src in ctx.policy.restricted_sources:
        if src.storage is Storage.durable:
            yield ctx.issue(
                src,
                f"{src.name} is stored durably",
                field="storage",
                fix="process it in memory on the user's request only (`storage: none`)",
            )
        if src.storage is Storage.none:
            cats = set(src.categories)
            for rule in ctx.policy.retention:
                if any(any(a in cats for a in ancestors(k)) for k in rule.categories):
                    yield ctx.issue(
                        rule,
                        f"retention rule {rule.id!r} keeps {src.name} categories, but the policy "
                        "says that data is never stored",
                        field="categories",
                        fix=f"remove the {src.name} categories from the rule",
                    )
        for r in ctx.policy.recipients:
            cats_r = list(ctx.collected) if r.categories == "all" else r.categories
            if any(any(a in set(src.categories) for a in ancestors(k)) for k in cats_r) and (
                r.type is not RecipientType.authority
            ):
                yield ctx.issue(
                    r,
                    f"recipient {r.id!r} receives {src.name}; Limited Use allows transfers only "
                    "to provide the user-facing feature",
                    field="categories",
                    fix=f"remove the {src.name} categories from this recipient",
                )

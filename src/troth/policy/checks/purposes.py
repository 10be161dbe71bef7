"""Checks on purposes, legal bases and consents."""

from __future__ import annotations

from collections.abc import Iterator

from troth.policy.checks.base import CheckContext, Issue, ancestors, check
from troth.policy.model import ConsentMechanism, LegalBasis
from troth.policy.taxonomy import covers

_BASES = ", ".join(b.value for b in LegalBasis)


@check("purpose.no-legal-basis", "error", "A purpose without a legal basis")
def no_legal_basis(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        if p.legal_basis is None:
            yield ctx.issue(
                p,
                f"purpose {p.id!r} has no legal basis",
                fix=f"add `legal_basis:` ({_BASES}) (GDPR Art. 6(1))",
            )


@check("purpose.consent-missing", "error", "A consent-based purpose without a declared consent")
def consent_missing(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        if p.legal_basis is not LegalBasis.consent:
            continue
        covering = [c for c in ctx.policy.consents if p.id in c.purposes]
        if not covering:
            yield ctx.issue(
                p,
                f"purpose {p.id!r} relies on consent but no consent covers it",
                field="legal_basis",
                fix=f"declare a consent under `consents:` whose `purposes` include {p.id!r}",
            )


@check("marketing.no-consent", "error", "Marketing without consent")
def marketing_without_consent(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        if covers("marketing", p.use) and p.legal_basis is not LegalBasis.consent:
            basis = p.legal_basis.value if p.legal_basis else "no legal basis"
            yield ctx.issue(
                p,
                f"marketing purpose {p.id!r} ({p.use}) relies on {basis}, not consent",
                field="legal_basis",
                fix="use `legal_basis: consent` with a declared opt-in consent "
                "(ePrivacy Art. 13 for e-mail and SMS marketing)",
            )


@check("consent.implied", "error", "Consent inferred from use or browser settings")
def implied_consent(ctx: CheckContext) -> Iterator[Issue]:
    for c in ctx.policy.consents:
        if c.mechanism in (ConsentMechanism.implied_by_use, ConsentMechanism.browser_settings):
            yield ctx.issue(
                c,
                f"consent {c.id!r} is inferred ({c.mechanism.value}); consent must be a clear "
                "affirmative act",
                field="mechanism",
                fix="ask for an explicit opt-in (GDPR Art. 4(11), 7) or rely on another legal "
                "basis such as contract for what the service needs",
            )


@check("consent.default-on", "error", "Consent given by default (pre-ticked)")
def default_on(ctx: CheckContext) -> Iterator[Issue]:
    for c in ctx.policy.consents:
        if c.default:
            yield ctx.issue(
                c,
                f"consent {c.id!r} is on by default",
                field="default",
                fix="set `default: false`: silence or pre-ticked boxes are not consent "
                "(CJEU C-673/17 Planet49)",
            )


@check("consent.no-withdrawal", "warning", "A consent that does not say how it is withdrawn")
def no_withdrawal(ctx: CheckContext) -> Iterator[Issue]:
    for c in ctx.policy.consents:
        if not c.withdrawal:
            yield ctx.issue(
                c,
                f"consent {c.id!r} does not say how it is withdrawn",
                fix="add `withdrawal:` (as easy as giving it, GDPR Art. 7(3))",
            )


@check("consent.for-essential-use", "warning", "Consent as the basis of an essential service")
def consent_for_essential(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        if p.legal_basis is LegalBasis.consent and covers("essential", p.use):
            yield ctx.issue(
                p,
                f"purpose {p.id!r} is essential to the service ({p.use}) but relies on consent, "
                "which the person can withdraw at any time",
                field="legal_basis",
                fix="use `legal_basis: contract` for processing the service needs "
                "(GDPR Art. 6(1)(b))",
            )


@check("purpose.no-categories", "warning", "A purpose that names no data categories")
def no_categories(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        if not p.categories:
            yield ctx.issue(
                p,
                f"purpose {p.id!r} names no data categories, so it cannot be enforced",
                fix="list the data categories it uses under `categories:`",
            )


@check("purpose.uncollected-category", "error", "A purpose uses a category never collected")
def purpose_uncollected(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        for i, key in enumerate(p.categories):
            if not ctx.is_collected(key):
                yield ctx.issue(
                    p,
                    f"purpose {p.id!r} uses {key!r}, which the policy never says it collects",
                    field=f"categories.{i}",
                    fix="declare it under `data_categories:` or a collection point",
                )


@check("category.unused", "warning", "A collected category that no purpose uses")
def unused_category(ctx: CheckContext) -> Iterator[Issue]:
    used = {a for p in ctx.policy.purposes for a in p.categories}
    used_ancestors = {a for key in used for a in ancestors(key)}
    for c in ctx.policy.data_categories:
        if c.key not in used_ancestors and not any(a in used for a in ancestors(c.key)):
            yield ctx.issue(
                c,
                f"category {c.key!r} is collected but no purpose uses it (data minimisation)",
                fix="name the purpose that needs it, or stop collecting it (GDPR Art. 5(1)(c))",
            )

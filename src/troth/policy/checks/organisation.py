"""Checks on the controller's identity, contacts, rights, cookies and policy changes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from troth.policy.checks.base import CheckContext, Issue, check
from troth.policy.model import ChangeNotice, Contact, CookieCategory, CookiePreferences, RightKind

_EMAIL = re.compile(r"^[^@\s\[\]]+@[^@\s\[\]]+\.[A-Za-z]{2,}$")
GDPR_RIGHTS = (
    RightKind.access,
    RightKind.rectification,
    RightKind.erasure,
    RightKind.restriction,
    RightKind.objection,
    RightKind.portability,
    RightKind.withdraw_consent,
    RightKind.complaint,
)


@check("org.no-contact", "error", "No way to contact the controller")
def no_contact(ctx: CheckContext) -> Iterator[Issue]:
    org = ctx.policy.organisation
    if (org.contact is None or org.contact.is_empty()) and not any(
        not d.is_empty() for d in org.dpo
    ):
        yield ctx.issue(
            org,
            f"the policy gives no contact details for {org.name}",
            fix="add `contact: {email: ...}` under organisation (GDPR Art. 13(1)(a))",
        )


@check("org.no-dpo", "warning", "No data protection officer")
def no_dpo(ctx: CheckContext) -> Iterator[Issue]:
    org = ctx.policy.organisation
    if not org.dpo:
        yield ctx.issue(
            org,
            f"the policy names no data protection officer for {org.name}",
            fix="add `dpo:` with contact details, or record why none is required "
            "(GDPR Art. 13(1)(b), 37)",
        )


@check("org.no-address", "warning", "No postal address of the controller")
def no_address(ctx: CheckContext) -> Iterator[Issue]:
    org = ctx.policy.organisation
    if not org.address:
        yield ctx.issue(
            org,
            f"the policy gives no address for {org.name}",
            fix="add `address:` (the controller's identity and contact details, "
            "GDPR Art. 13(1)(a))",
        )


def _contacts(ctx: CheckContext) -> Iterator[tuple[Contact, str]]:
    org = ctx.policy.organisation
    if org.contact:
        yield org.contact, "contact"
    for d in org.dpo:
        yield d, "DPO"
    if org.representative:
        yield org.representative, "representative"


@check("org.contact-invalid", "error", "A published contact e-mail that is not an address")
def invalid_contact(ctx: CheckContext) -> Iterator[Issue]:
    for contact, label in _contacts(ctx):
        if contact.email and not _EMAIL.match(contact.email):
            yield ctx.issue(
                contact,
                f"the {label} e-mail as published is not a usable address",
                field="email",
                fix="publish a working address (an obfuscated '[email protected]' "
                "placeholder cannot be written to)",
            )


@check("jurisdiction.none", "warning", "No jurisdiction declared")
def no_jurisdiction(ctx: CheckContext) -> Iterator[Issue]:
    if not ctx.policy.jurisdictions:
        yield ctx.issue(
            ctx.policy.policy,
            "the policy names no jurisdiction, so request deadlines default to the strictest "
            "(one month)",
            fix="add `jurisdictions:` (e.g. gdpr, ccpa, pdpa_th)",
        )


@check("rights.missing", "warning", "Data-subject rights the policy does not describe")
def rights_missing(ctx: CheckContext) -> Iterator[Issue]:
    have = {r.right for r in ctx.policy.rights}
    missing = [r.value for r in GDPR_RIGHTS if r not in have]
    if missing:
        yield ctx.issue(
            ctx.policy.policy,
            f"the policy does not tell people of these rights: {', '.join(missing)}",
            fix="add them under `rights:` with how to exercise each (GDPR Art. 13(2)(b)-(d))",
        )


@check("cookies.without-consent", "error", "Non-essential cookies without prior consent")
def cookies_without_consent(ctx: CheckContext) -> Iterator[Issue]:
    cookies = ctx.policy.cookies
    if cookies is None or cookies.preferences is CookiePreferences.banner:
        return
    nonessential = [c for c in cookies.items if c.category is not CookieCategory.necessary]
    if nonessential or not cookies.items:
        yield ctx.issue(
            cookies,
            f"non-essential cookies and tracking are managed by {cookies.preferences.value} "
            "instead of prior consent",
            field="preferences",
            fix="ask consent before setting them (`preferences: banner`, ePrivacy Art. 5(3))",
        )


@check("cookies.undeclared", "warning", "Cookies mentioned but not listed")
def cookies_undeclared(ctx: CheckContext) -> Iterator[Issue]:
    cookies = ctx.policy.cookies
    if cookies is not None and not cookies.items:
        yield ctx.issue(
            cookies,
            "the policy uses cookies but lists none (name, purpose, lifetime)",
            fix="list each cookie under `cookies: items:`",
        )
    for c in cookies.items if cookies else []:
        if c.lifetime is None:
            yield ctx.issue(
                c, f"cookie {c.name!r} has no lifetime", fix="add `lifetime:` (e.g. `session`)"
            )


@check("changes.no-notice", "warning", "Policy changes without notice")
def changes_without_notice(ctx: CheckContext) -> Iterator[Issue]:
    changes = ctx.policy.policy.changes
    if changes.notice in (ChangeNotice.no_notice, ChangeNotice.unspecified):
        what = "without notice" if changes.notice is ChangeNotice.no_notice else "unannounced"
        yield ctx.issue(
            changes,
            f"material changes to the policy may be made {what}",
            field="notice",
            fix="notify people before material changes take effect (`notice: prior_notice`)",
        )

"""The cookie banner's configuration, taken from the policy, and its choices as consent events.

A cookie category maps to the consents of its cookies' purposes (a ``cookie_banner`` or
``browser_settings`` consent first). ``necessary`` is always on and records nothing. Categories
whose purposes are sale, sharing or targeted advertising are off under Global Privacy Control.
"""

from __future__ import annotations

from typing import Any

from troth.consent.decide import GPC_USES, under
from troth.consent.events import ConsentState, NewEvent
from troth.errors import ConsentError
from troth.policy.model import ConsentMechanism, CookieCategory, Policy

LABELS = {
    "necessary": ("Necessary", "Needed for the site to work; always on."),
    "preferences": ("Preferences", "Remember your settings and choices."),
    "analytics": ("Statistics", "Count visits and measure how the site is used."),
    "marketing": ("Marketing", "Show you ads and measure them, on this and other sites."),
}
_BANNER_MECHANISMS = (ConsentMechanism.cookie_banner, ConsentMechanism.browser_settings)


def category_consents(policy: Policy) -> dict[str, list[str]]:
    """``{category: [consent ids]}`` for the categories that have cookies (not necessary)."""
    out: dict[str, list[str]] = {}
    items = policy.cookies.items if policy.cookies else []
    for cookie in items:
        if cookie.category is CookieCategory.necessary:
            continue
        ids = out.setdefault(cookie.category.value, [])
        for consent in policy.consents:
            if cookie.purpose and cookie.purpose in consent.purposes and consent.id not in ids:
                ids.append(consent.id)
    for cat, ids in out.items():
        banner = [i for i in ids if _mechanism(policy, i) in _BANNER_MECHANISMS]
        out[cat] = banner or ids
    return out


def _mechanism(policy: Policy, consent_id: str) -> ConsentMechanism | None:
    c = policy.consent(consent_id)
    return c.mechanism if c else None


def gpc_categories(policy: Policy) -> set[str]:
    """Categories a GPC signal switches off (their purposes are sale/sharing/targeted ads)."""
    out = set()
    for cookie in policy.cookies.items if policy.cookies else []:
        purpose = policy.purpose(cookie.purpose) if cookie.purpose else None
        if purpose and under(purpose.use, GPC_USES):
            out.add(cookie.category.value)
    out.discard("necessary")
    return out


def banner_config(policy: Policy) -> dict[str, Any]:
    """What ``troth-consent.js`` needs: categories, cookies, policy version, endpoint."""
    items = policy.cookies.items if policy.cookies else []
    mapping = category_consents(policy)
    gpc = gpc_categories(policy)
    categories = []
    for cat in CookieCategory:
        cookies = [c for c in items if c.category is cat]
        if cat is not CookieCategory.necessary and not cookies:
            continue
        name, text = LABELS[cat.value]
        categories.append(
            {
                "id": cat.value,
                "name": name,
                "description": text,
                "required": cat is CookieCategory.necessary,
                "gpc_off": cat.value in gpc,
                "consents": mapping.get(cat.value, []),
                "cookies": [
                    {
                        "name": c.name,
                        "provider": c.provider,
                        "lifetime": str(c.lifetime) if c.lifetime else None,
                        "description": c.description,
                    }
                    for c in cookies
                ],
            }
        )
    return {
        "policy_id": policy.policy.id,
        "policy_version": policy.policy.version,
        "policy_url": policy.policy.url,
        "organisation": policy.organisation.name,
        "preferences": policy.cookies.preferences.value if policy.cookies else "none",
        "endpoint": "/consent/browser",
        "categories": categories,
    }


def choices_to_events(
    policy: Policy,
    subject: str,
    choices: dict[str, bool],
    policy_version: str,
    *,
    gpc: bool,
    previous: dict[str, ConsentState],
    user_agent: str | None = None,
    ip: str | None = None,
) -> tuple[list[NewEvent], dict[str, bool]]:
    """The events for a banner decision and the effective choice per category.

    Unchecking a category that was given records ``withdrawn``; otherwise ``refused``.
    """
    mapping = category_consents(policy)
    unknown = sorted(set(choices) - set(mapping) - {"necessary"})
    if unknown:
        raise ConsentError(
            f"unknown cookie category {unknown[0]!r}",
            where="cookie banner choice",
            fix=f"use one of: {', '.join(['necessary', *sorted(mapping)])}",
        )
    if policy_version != policy.policy.version:
        raise ConsentError(
            f"the banner showed policy version {policy_version!r}, the current one is "
            f"{policy.policy.version!r}",
            where="cookie banner choice",
            fix="reload the page so the banner asks again",
        )
    gpc_off = gpc_categories(policy) if gpc else set()
    effective: dict[str, bool] = {"necessary": True}
    events: list[NewEvent] = []
    for cat, consent_ids in sorted(mapping.items()):
        on = bool(choices.get(cat, False)) and cat not in gpc_off
        effective[cat] = on
        for cid in consent_ids:
            prev = previous.get(cid)
            kind = "given" if on else ("withdrawn" if prev and prev.given else "refused")
            if prev and prev.kind.value == kind:
                continue  # unchanged: nothing to record
            events.append(
                NewEvent(
                    subject,
                    cid,
                    kind,
                    channel="cookie_banner",
                    collection_point="cookie_banner",
                    gpc=gpc,
                    user_agent=user_agent,
                    ip=ip,
                )
            )
    return events, effective

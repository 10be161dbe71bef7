"""Roles of the console and what each may do."""

from __future__ import annotations

from enum import StrEnum

from troth.errors import ConsoleError, did_you_mean


class Role(StrEnum):
    admin = "admin"
    privacy_officer = "privacy_officer"
    reviewer = "reviewer"
    #: read-only
    auditor = "auditor"


class Perm(StrEnum):
    #: see every page, verify the ledger
    view = "view"
    #: act on requests: verify identity, approve, deny, extend, re-run
    review = "review"
    #: API keys and webhooks
    manage = "manage"
    #: console users
    users = "users"


GRANTS: dict[Role, frozenset[Perm]] = {
    Role.admin: frozenset(Perm),
    Role.privacy_officer: frozenset({Perm.view, Perm.review, Perm.manage}),
    Role.reviewer: frozenset({Perm.view, Perm.review}),
    Role.auditor: frozenset({Perm.view}),
}


def allowed(role: str, perm: Perm) -> bool:
    try:
        return perm in GRANTS[Role(role)]
    except ValueError:
        return False


def parse_role(text: str) -> Role:
    value = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(value)
    except ValueError:
        valid = [r.value for r in Role]
        raise ConsoleError(
            f"unknown role {text!r}{did_you_mean(value, valid)}",
            where="--role",
            fix=f"use one of {', '.join(valid)}",
        ) from None

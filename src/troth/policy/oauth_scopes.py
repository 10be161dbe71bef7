"""The OAuth scopes an app requests, compared with the restricted sources of the policy.

``troth check PATH --oauth-scopes FILE`` reads the scopes the app asks for (a JSON list, an object
with a ``scopes`` list, or one scope per line or separated by spaces) and reports every scope that
no restricted source declares (an error: the app reaches data the policy does not speak of). A
declared scope covers itself and its narrower forms: ``.../auth/calendar`` covers
``.../auth/calendar.readonly``; Gmail's full scope ``https://mail.google.com/`` covers every
``.../auth/gmail.*`` scope. Sign-in scopes (``openid``, ``email``, ``profile``) are not
restricted data and are not compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from troth.errors import ConfigError
from troth.policy.checks.base import Issue
from troth.policy.model import Policy, RestrictedSource

CHECK_ID = "restricted.undeclared-scope"
#: sign-in scopes (OpenID Connect): the account's identity, not restricted user data
SIGN_IN = frozenset(
    {
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
)
_GMAIL_FULL = "https://mail.google.com/"
_GMAIL_PREFIX = "https://www.googleapis.com/auth/gmail."


def read_scopes(path: Path) -> list[str]:
    """The scopes listed in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the OAuth scopes ({exc.strerror})",
            where=str(path),
            fix="pass a file listing the scopes the app requests",
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        return [s for s in text.split() if s]
    if isinstance(data, dict):
        data = data.get("scopes")
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise ConfigError(
            "the OAuth scopes file is not a list of scopes",
            where=str(path),
            fix='write a JSON list (["https://www.googleapis.com/auth/contacts"]) or one per line',
        )
    return list(data)


def covers(declared: str, requested: str) -> bool:
    """Whether the declared scope allows the requested one."""
    d, r = declared.rstrip("/"), requested.rstrip("/")
    if r == d or r.startswith(d + "."):
        return True
    return declared == _GMAIL_FULL and requested.startswith(_GMAIL_PREFIX)


def _source_for(policy: Policy, scope: str) -> RestrictedSource | None:
    google = "google.com" in scope or "googleapis.com" in scope
    return next(
        (s for s in policy.restricted_sources if google and s.provider.lower() == "google"), None
    )


def compare_scopes(policy: Policy, requested: Sequence[str], where: str) -> Iterator[Issue]:
    """An issue for every requested scope no restricted source of ``policy`` declares."""
    for scope in dict.fromkeys(requested):
        if scope in SIGN_IN:
            continue
        if any(covers(d, scope) for src in policy.restricted_sources for d in src.scopes):
            continue
        src = _source_for(policy, scope)
        named = f" (restricted source {src.id!r} declares {', '.join(src.scopes)})" if src else ""
        yield Issue(
            message=f"the app requests OAuth scope {scope!r}, which the policy does not "
            f"declare{named}",
            where=where,
            fix="stop requesting it, or declare it under the restricted source's `scopes:` "
            "(and the data it reaches in the policy text)",
            promises=tuple(getattr(src, "promises", ()) or ()) if src else (),
        )

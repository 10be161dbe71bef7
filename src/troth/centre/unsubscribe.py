"""One-click unsubscribe (RFC 8058) for the company's marketing mail.

>>> headers = list_unsubscribe_headers(key, "https://shop.example", "ada@example.com", "news")
>>> headers["List-Unsubscribe-Post"]
'List-Unsubscribe=One-Click'

The link carries a token troth signed: the consent ledger's keyed hash of the person and the
consent id (never the address). A ``POST`` to it records the withdrawal in the consent ledger.
"""

from __future__ import annotations

from troth.centre.crypto import Box, Signer
from troth.consent.subjects import Subject, subject_ref
from troth.errors import RequestError

ONE_CLICK = "List-Unsubscribe=One-Click"


def unsubscribe_token(secret: bytes, subject: Subject, consent_id: str) -> str:
    """The signed token; given the person's identifier (not a ref), it also carries it
    encrypted, so the withdrawal can be pushed to the mailing service (troth.consent.push)."""
    data = {"s": subject_ref(secret, subject), "c": consent_id}
    if isinstance(subject, str):
        data["e"] = Box(secret, "unsubscribe identifier").seal(subject.strip())
    return Signer(secret, "unsubscribe").sign(data)


def unsubscribe_identifier(secret: bytes, token: str) -> str | None:
    """The identifier a token carries (encrypted), when it matches the token's ref."""
    data = Signer(secret, "unsubscribe").read(token)
    sealed = data.get("e") if data else None
    if not isinstance(sealed, str) or data is None:
        return None
    try:
        value = Box(secret, "unsubscribe identifier").open(sealed)
    except RequestError:
        return None
    if not isinstance(value, str) or subject_ref(secret, value) != data.get("s"):
        return None
    return value


def read_unsubscribe(secret: bytes, token: str) -> tuple[str, str] | None:
    """``(subject ref, consent id)`` of a token troth signed, else ``None``."""
    data = Signer(secret, "unsubscribe").read(token)
    if not data or not isinstance(data.get("s"), str) or not isinstance(data.get("c"), str):
        return None
    return data["s"], data["c"]


def unsubscribe_url(secret: bytes, base_url: str, subject: Subject, consent_id: str) -> str:
    token = unsubscribe_token(secret, subject, consent_id)
    return f"{base_url.rstrip('/')}/privacy/unsubscribe/{token}"


def list_unsubscribe_headers(
    secret: bytes, base_url: str, subject: Subject, consent_id: str
) -> dict[str, str]:
    """The two headers a marketing mail carries so mail clients offer one-click unsubscribe."""
    url = unsubscribe_url(secret, base_url, subject, consent_id)
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}

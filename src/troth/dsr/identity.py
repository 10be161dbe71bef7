"""The identities a request names (``email``, ``phone``, ``user_id`` or a custom identity).

Values live in memory for the duration of a run only: they are never logged, never written to
troth's state DB or the audit ledger. What is stored is troth's keyed hash of each one
(:func:`identity_hash`), enough to find a request again when the same identities are given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from troth.audit.hashing import keyed_hash
from troth.errors import RequestError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: control characters (NUL...) and lone surrogates (bytes that were not UTF-8)
_BAD_VALUE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
#: troth's keyed hash: a value of this shape is refused, troth hashes values itself
_KEYED = re.compile(r"^h:[0-9a-f]{64}$", re.IGNORECASE)
MAX_VALUE = 1000


@dataclass(frozen=True)
class Identity:
    """One identity of the person: the identity's name and its value (hidden from ``repr``)."""

    name: str
    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise RequestError(
                f"invalid identity name {self.name!r}",
                where="identity",
                fix="use lower-case letters, digits and _ (email, phone, user_id, ...)",
            )
        where = "--identity" if self.name not in {"email", "phone", "user_id"} else self.option
        value = self.value.strip()
        # leading and trailing whitespace (a value pasted from a sheet) is trimmed, not refused
        if not value or len(value) > MAX_VALUE or _BAD_VALUE.search(value):
            raise RequestError(
                f"the {self.name} value is empty, longer than {MAX_VALUE} characters, or holds a "
                "control character (such as NUL) or bytes that are not UTF-8",
                where=where,
                fix="pass the value as plain UTF-8 text",
            )
        if _KEYED.match(value):
            raise RequestError(
                f"the {self.name} value looks like a troth keyed hash (h: and 64 hex digits)",
                where=where,
                fix="pass the person's own value; troth hashes it itself",
            )

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def normalised(self) -> str:
        value = self.value.strip()
        return value.lower() if self.name == "email" else value


def parse_identities(
    *,
    email: Sequence[str] = (),
    phone: Sequence[str] = (),
    user_id: Sequence[str] = (),
    custom: Sequence[str] = (),
) -> list[Identity]:
    """Identities from CLI-style options; ``custom`` items are ``name=value``."""
    out = [Identity("email", v) for v in email]
    out += [Identity("phone", v) for v in phone]
    out += [Identity("user_id", v) for v in user_id]
    for item in custom:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise RequestError(
                "an --identity must be written name=value",
                where="--identity",
                fix="e.g. --identity customer_no=C-1001",
            )
        out.append(Identity(name.strip(), value))
    if not out:
        raise RequestError(
            "a request needs at least one identity",
            fix="pass --email, --phone, --user-id or --identity name=value",
        )
    return out


def identity_hash(key: bytes, identity: Identity) -> str:
    """troth's keyed hash of ``name:value`` (e-mail addresses compared case-insensitively)."""
    return keyed_hash(key, f"{identity.name}:{identity.normalised()}")


def identity_set_hash(key: bytes, identities: Iterable[Identity]) -> str:
    """One keyed hash for the whole set of identities (order and repeats do not matter)."""
    hashes = sorted({identity_hash(key, i) for i in identities})
    return keyed_hash(key, "|".join(hashes))


def values_by_name(identities: Iterable[Identity]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ident in identities:
        values = out.setdefault(ident.name, [])
        if ident.value not in values:
            values.append(ident.value)
    return out

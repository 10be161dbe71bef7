"""Keep personal data out of the ledger: entries hold ids, counts and keyed hashes only.

A safety net, not a classifier: it rejects values shaped like e-mail addresses or phone numbers and
keys named like personal fields, and every value that is not plain JSON. Messages name the key,
never the value.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from troth.errors import AuditError

FIX = "pass an id or troth's keyed hash: `troth.audit.keyed_hash(secret, value)`"

_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"^(?:\+\d[\d\s().-]{5,}\d"  # international: +49 30 1234567
    r"|\(?\d{2,5}\)?[\s.-]\d{2,5}[\s.-]\d{2,5}(?:[\s.-]\d{2,5})?)$"  # 030 123 4567, 555-123-4567
)
_PHONE_START = frozenset("+(0123456789")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
#: key tokens that always mean a personal field (``user_email``, ``client_ip``, ``new_password``)
_PERSONAL_TOKENS = frozenset(
    {
        "email", "mail", "phone", "telephone", "mobile", "cellphone", "fax", "ip", "ipaddr",
        "password", "passwd", "pwd", "ssn", "iban", "surname", "firstname", "lastname",
        "fullname", "username", "birthday", "birthdate", "dob", "street", "zip", "postcode",
    }
)  # fmt: skip
#: words that are personal when they are the key or follow a personal qualifier
_PERSONAL_WORDS = frozenset({"name", "address", "birth", "card", "number", "location"})
_QUALIFIERS = frozenset(
    {
        "first", "last", "full", "given", "family", "middle", "user", "customer", "contact",
        "person", "billing", "shipping", "delivery", "home", "postal", "remote", "client",
        "credit", "card", "phone", "date", "of", "real", "display", "maiden", "geo",
    }
)  # fmt: skip
#: a key ending like this holds a reference, not the value (``email_hash``, ``customer_id``)
_SAFE_SUFFIXES = frozenset({"hash", "hashes", "hmac", "id", "ids", "count", "sha256", "ref"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def key_tokens(key: str) -> list[str]:
    return [t for t in _SPLIT.split(_CAMEL.sub("_", key).lower()) if t]


@functools.lru_cache(maxsize=4096)
def is_personal_key(key: str) -> bool:
    tokens = key_tokens(key)
    if not tokens or tokens[-1] in _SAFE_SUFFIXES:
        return False
    if any(t in _PERSONAL_TOKENS for t in tokens):
        return True
    if tokens[-1] in _PERSONAL_WORDS:
        return len(tokens) == 1 or tokens[-2] in _QUALIFIERS
    return False


def looks_personal(value: str) -> str | None:
    """``"an e-mail address"``/``"a phone number"`` when *value* looks like one, else ``None``."""
    if "@" in value and _EMAIL.search(value):
        return "an e-mail address"
    text = value.strip()
    if (
        text[:1] in _PHONE_START
        and _PHONE.match(text)
        and not _DATE.match(text)
        and sum(c.isdigit() for c in text) >= 7
    ):
        return "a phone number"
    return None


def check_text(value: str, *, field: str, kind: str) -> None:
    """Reject an ``actor``/``subject`` that looks like an e-mail address or phone number."""
    what = looks_personal(value)
    if what:
        raise AuditError(
            f"the {field} of a {kind!r} entry looks like {what}",
            where=f"audit entry {field}",
            fix=FIX,
        )


def check_data(data: Any, *, kind: str) -> None:
    """Raise :class:`AuditError` unless *data* is a JSON object free of personal data."""
    if not isinstance(data, dict):
        raise AuditError(
            f"the data of a {kind!r} entry must be a JSON object, not {type(data).__name__}",
            where="audit entry data",
            fix="pass a dict of ids, counts and hashes",
        )
    _check(data, "data", kind)


def _check(value: Any, path: str, kind: str) -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(
                f"{path} of a {kind!r} entry is not a finite number",
                where=f"audit entry {path}",
                fix="store counts and measures as finite numbers",
            )
        return
    if isinstance(value, str):
        what = looks_personal(value)
        if what:
            raise AuditError(
                f"{path} of a {kind!r} entry looks like {what}",
                where=f"audit entry {path}",
                fix=FIX,
            )
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", kind)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditError(
                    f"{path} of a {kind!r} entry has a non-text key",
                    where=f"audit entry {path}",
                    fix="use text keys",
                )
            if is_personal_key(key):
                raise AuditError(
                    f"key {key!r} in {path} of a {kind!r} entry names a personal field",
                    where=f"audit entry {path}.{key}",
                    fix=FIX + " under a key like '" + key + "_hash'",
                )
            _check(item, f"{path}.{key}", kind)
        return
    raise AuditError(
        f"{path} of a {kind!r} entry is a {type(value).__name__}, not plain JSON",
        where=f"audit entry {path}",
        fix="pass only text, numbers, booleans, null, lists and objects (ids, counts, hashes)",
    )

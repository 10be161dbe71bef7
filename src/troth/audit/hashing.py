"""The ledger's hash formula, canonical JSON and troth's keyed hash for identifiers."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

#: ``prev`` of the first entry
GENESIS = "0" * 64
#: prefix of :func:`keyed_hash` values, so a reader can tell a keyed hash from an id
KEYED_PREFIX = "h:"


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(data: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text (not ``\\u`` escapes), no NaN/Infinity."""
    return _CANONICAL.encode(data)


def entry_hash(
    seq: int, ts: str, kind: str, actor: str, subject: str | None, data_json: str, prev: str
) -> str:
    """``sha256("seq|ts|kind|actor|subject|data|prev")`` as hex; *data_json* is canonical JSON."""
    text = f"{seq}|{ts}|{kind}|{actor}|{subject or ''}|{data_json}|{prev}"
    return hashlib.sha256(text.encode()).hexdigest()


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of *value* under *key*, as ``h:<hex>``: how personal values enter the ledger.

    The same value under the same key always gives the same hash, so entries about one person can
    be found (given the value and the key) without the ledger holding the value itself.
    """
    return KEYED_PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def utc_timestamp() -> str:
    """Now in UTC, ISO-8601 with microseconds: ``2026-01-31T12:00:00.123456+00:00``."""
    return datetime.now(UTC).isoformat(timespec="microseconds")

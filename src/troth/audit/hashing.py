"""The ledger's MAC formula, canonical JSON, the ledger key and troth's keyed hash for identifiers.

Each entry is chained with HMAC-SHA256 under a key derived from ``TROTH_SECRET_KEY`` (HKDF,
RFC 5869, with its own ``info``), over the canonical JSON of the whole entry. Without the secret,
a writer of the state DB cannot compute a valid chain.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

#: ``prev`` of the first entry
GENESIS = "0" * 64
#: version of the MAC input (the ``v`` member of :func:`mac_input`)
FORMAT = 2
_LEDGER_INFO = b"troth/audit-ledger/mac/v2"
_KEY_ID_INFO = b"troth/audit-ledger/key-id"
_quote = json.encoder.encode_basestring  # a JSON string literal, UTF-8 kept (canonical form)
#: prefix of :func:`keyed_hash` values, so a reader can tell a keyed hash from an id
KEYED_PREFIX = "h:"


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(data: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text (not ``\\u`` escapes), no NaN/Infinity."""
    return _CANONICAL.encode(data)


def ledger_key(secret: bytes) -> bytes:
    """The ledger's MAC key: HKDF-SHA256 (RFC 5869, empty salt) of *secret*, one 32-byte block.

    Distinct from every other use of the secret (keyed hashes of identifiers, API keys, receipts).
    """
    prk = hmac.digest(b"\0" * 32, secret, "sha256")
    return hmac.digest(prk, _LEDGER_INFO + b"\x01", "sha256")


def key_id(key: bytes) -> str:
    """A short public id of a ledger key (16 hex digits), so a wrong secret is named as such."""
    return hmac.digest(key, _KEY_ID_INFO, "sha256").hex()[:16]


def mac_input(
    seq: int,
    ts: str,
    kind: str,
    actor: str,
    subject: str | None,
    data_json: str,
    prev: str,
    ref: str | None,
) -> bytes:
    """The canonical JSON of the whole entry, UTF-8: what the MAC is computed over.

    Equal to ``canonical_json({"actor", "data", "kind", "prev", "ref", "seq", "subject", "ts",
    "v"})`` with ``data`` as its stored canonical text (a JSON string), so every field is a
    self-delimiting JSON value and no text can move from one field into another. Built by hand
    because it runs for every entry when the ledger is verified.
    """
    q = _quote
    return (
        f'{{"actor":{q(actor)},"data":{q(data_json)},"kind":{q(kind)},"prev":{q(prev)},'
        f'"ref":{"null" if ref is None else q(ref)},"seq":{int(seq)},'
        f'"subject":{"null" if subject is None else q(subject)},"ts":{q(ts)},"v":{FORMAT}}}'
    ).encode()


def entry_mac(
    key: bytes,
    seq: int,
    ts: str,
    kind: str,
    actor: str,
    subject: str | None,
    data_json: str,
    prev: str,
    ref: str | None = None,
) -> str:
    """HMAC-SHA256 under the ledger *key* of :func:`mac_input`, as 64 hex digits."""
    mac = mac_state(key).copy()
    mac.update(mac_input(seq, ts, kind, actor, subject, data_json, prev, ref))
    return mac.hexdigest()


@functools.lru_cache(maxsize=8)
def mac_state(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 object keyed with *key* and fed nothing: copy it per message (the key's
    two padding blocks are hashed once, not per entry)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def legacy_entry_hash(
    seq: int, ts: str, kind: str, actor: str, subject: str | None, data_json: str, prev: str
) -> str:
    """The unkeyed hash of troth 0.1 ledgers: ``sha256("seq|ts|kind|actor|subject|data|prev")``.

    Only read by ``troth audit upgrade``, which checks an old chain before it re-chains it.
    """
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

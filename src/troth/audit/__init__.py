"""The tamper-evident audit ledger: append-only, hash-chained, verifiable, exportable.

Entries hold ids, counts and keyed hashes, never personal data (see :mod:`troth.audit.guard`).
"""

from __future__ import annotations

from troth.audit.entry import Entry
from troth.audit.export import export
from troth.audit.hashing import GENESIS, canonical_json, entry_hash, keyed_hash
from troth.audit.ledger import Event, Head, Ledger
from troth.audit.verify import VerifyResult, check_chain, parse_anchor, verify, verify_file

__all__ = [
    "GENESIS",
    "Entry",
    "Event",
    "Head",
    "Ledger",
    "VerifyResult",
    "canonical_json",
    "check_chain",
    "entry_hash",
    "export",
    "keyed_hash",
    "parse_anchor",
    "verify",
    "verify_file",
]

"""The tamper-evident audit ledger: append-only, MAC-chained, anchored, verifiable, exportable.

Entries hold ids, counts and keyed hashes, never personal data (see :mod:`troth.audit.guard`).
"""

from __future__ import annotations

from troth.audit.coverage import Missing, missing_entries, ref_of
from troth.audit.entry import Entry
from troth.audit.export import export
from troth.audit.hashing import (
    GENESIS,
    canonical_json,
    entry_mac,
    key_id,
    keyed_hash,
    ledger_key,
    legacy_entry_hash,
    mac_input,
)
from troth.audit.ledger import (
    Event,
    Head,
    Ledger,
    LedgerConfig,
    LedgerTransaction,
    check_events,
)
from troth.audit.verify import VerifyResult, check_chain, parse_anchor, verify, verify_file

__all__ = [
    "GENESIS",
    "Entry",
    "Event",
    "Head",
    "Ledger",
    "LedgerConfig",
    "LedgerTransaction",
    "Missing",
    "VerifyResult",
    "canonical_json",
    "check_chain",
    "check_events",
    "entry_mac",
    "export",
    "key_id",
    "keyed_hash",
    "ledger_key",
    "legacy_entry_hash",
    "mac_input",
    "missing_entries",
    "parse_anchor",
    "ref_of",
    "verify",
    "verify_file",
]

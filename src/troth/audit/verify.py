"""Verify the ledger: seq contiguity, prev links, recomputed hashes, the head row and anchors.

Verification streams the entries in seq order and stops at the FIRST bad position, saying why. The
position is the first entry whose content the chain no longer vouches for: an edited entry, the
place of a deleted or inserted one, an entry edited and re-hashed (caught by the next entry's
``prev``, by the head row or by an anchor).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import Engine

from troth.audit.hashing import GENESIS, canonical_json
from troth.audit.ledger import Head, read_head, stream_entries
from troth.errors import AuditError, LedgerTamperedError
from troth.store.db import connect, safe_url

Row = tuple[Any, ...]
_ANCHOR = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")
_FIX = "restore the ledger from a backup and find out who changed it; do not append until then"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification; ``first_bad`` and ``reason`` are set when it failed."""

    source: str
    checked: int
    last: Head
    first_bad: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def line(self) -> str:
        if self.ok:
            return f"ok: {self.checked} entries, chain intact, head {self.last.anchor()}"
        return f"entry {self.first_bad}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "checked": self.checked,
            "head": {"seq": self.last.seq, "hash": self.last.hash},
            "first_bad": self.first_bad,
            "reason": self.reason,
        }

    def raise_if_tampered(self) -> None:
        if not self.ok:
            raise LedgerTamperedError(self.line(), where=self.source, fix=_FIX)


def parse_anchor(text: str) -> Head:
    """``SEQ:HASH`` (as printed by ``troth audit head``) to a :class:`Head`."""
    m = _ANCHOR.match(text.lower())
    if not m:
        raise AuditError(
            f"anchor {text[:80]!r} is not SEQ:HASH",
            where="--anchor",
            fix="pass the value `troth audit head` printed, e.g. 1042:<64 hex digits>",
        )
    return Head(int(m.group(1)), m.group(2))


def check_chain(
    rows: Iterable[Row], *, source: str, head: Head | None = None, anchor: Head | None = None
) -> VerifyResult:
    """Check entries ``(seq, ts, kind, actor, subject, data_json, prev, hash)`` in stored order."""
    sha256 = hashlib.sha256
    expected = 1
    last = GENESIS
    before_last = ""
    anchor_seq, anchor_hash = (anchor.seq, anchor.hash) if anchor else (-1, "")

    def bad(pos: int, reason: str) -> VerifyResult:
        return VerifyResult(source, pos - 1, Head(pos - 1, ""), pos, reason)

    for seq, ts, kind, actor, subject, data, prev, digest in rows:
        if seq != expected:
            return bad(
                expected,
                f"expected seq {expected}, found {seq} (entry deleted, inserted or reordered)",
            )
        if subject == "":  # hashes like NULL; troth never writes it
            return bad(expected, "empty subject (entry edited)")
        text = f"{seq}|{ts}|{kind}|{actor}|{subject or ''}|{data}|{prev}"
        computed = sha256(text.encode()).hexdigest()
        if prev != last:
            if expected > 1 and prev == before_last:
                return bad(
                    expected - 1,
                    f"entry {expected} links past it to entry {expected - 2} "
                    "(forged entry inserted)",
                )
            if computed != digest:
                return bad(expected, "hash mismatch (entry edited)")
            if expected == 1:
                return bad(1, "prev is not the genesis value (entries before it removed)")
            return bad(
                expected - 1,
                f"entry {expected} does not link to it (entry edited and re-hashed, "
                "or forged entry inserted)",
            )
        if computed != digest:
            return bad(expected, "hash mismatch (entry edited)")
        if seq == anchor_seq and digest != anchor_hash:
            return bad(seq, "hash differs from the published anchor (ledger rewritten)")
        before_last, last = last, digest
        expected += 1

    count = expected - 1
    if head is not None:
        if head.seq > count:
            return bad(
                count + 1,
                f"missing: the head records {head.seq} entries, the ledger ends at {count} "
                "(entries deleted from the end)",
            )
        if head.seq < count:
            return bad(
                head.seq + 1,
                f"not recorded in the head (head at {head.seq}; entry appended outside troth)",
            )
        if head.hash != last:
            return bad(count, "hash differs from the head row (entry edited and re-hashed)")
    if anchor is not None and anchor.seq > count:
        return bad(
            count + 1,
            f"missing: the anchor covers entries up to {anchor.seq}, the ledger ends at {count} "
            "(entries deleted)",
        )
    return VerifyResult(source, count, Head(count, last))


def verify(engine: Engine, *, anchor: Head | None = None) -> VerifyResult:
    """Verify the ledger in troth's state DB, reading one consistent snapshot."""
    with connect(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            head = read_head(conn)
            rows = stream_entries(conn)
            return check_chain(rows, source=safe_url(engine.url), head=head, anchor=anchor)


def verify_file(source: str | Path | IO[str], *, anchor: Head | None = None) -> VerifyResult:
    """Verify a JSONL export (``troth audit export``); a line that is not an entry is tampering.

    A file has no head row: deleting its last lines is only caught with an *anchor*.
    """
    if not isinstance(source, str | Path):
        return _verify_stream(source, str(getattr(source, "name", "<stream>")), anchor)
    try:
        with open(source, encoding="utf-8") as fh:
            return _verify_stream(fh, str(source), anchor)
    except OSError as exc:
        raise AuditError(
            f"cannot read the export ({exc.strerror})",
            where=str(source),
            fix="pass a file written by `troth audit export`",
        ) from exc


class _BadLine(Exception):
    def __init__(self, lineno: int, entries: int, why: str) -> None:
        super().__init__(why)
        self.lineno, self.entries, self.why = lineno, entries, why


def _verify_stream(fh: IO[str], name: str, anchor: Head | None) -> VerifyResult:
    try:
        return check_chain(_file_rows(fh), source=name, anchor=anchor)
    except _BadLine as exc:
        pos = exc.entries + 1
        return VerifyResult(
            name, exc.entries, Head(exc.entries, ""), pos, f"line {exc.lineno} {exc.why}"
        )


def _file_rows(fh: IO[str]) -> Iterator[Row]:
    entries = 0
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            data = obj["data"]
            if not isinstance(obj["seq"], int) or not isinstance(data, dict):
                raise TypeError
            row: Row = (obj["seq"], obj["ts"], obj["kind"], obj["actor"], obj["subject"])
            row += (canonical_json(data), obj["prev"], obj["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            why = "is not valid JSON" if isinstance(exc, ValueError) else "is not a ledger entry"
            raise _BadLine(lineno, entries, f"{why} (entry edited)") from exc
        entries += 1
        yield row

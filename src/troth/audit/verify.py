"""Verify the ledger: seq contiguity, prev links, recomputed MACs, the head row, the anchors and
that every audited row has its entry.

Verification streams the entries in seq order and stops at the FIRST bad position, saying why. The
position is the first entry whose content the chain no longer vouches for: an edited entry, the
place of a deleted or inserted one, an entry edited and re-chained (caught by the next entry's
``prev``, by the head row or by an anchor). The MAC key comes from ``TROTH_SECRET_KEY``; the anchor
file (``TROTH_HOME/ledger-anchor``) is checked by default, an ``--anchor SEQ:HASH`` in addition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from troth.audit.coverage import Missing, missing_entries
from troth.audit.hashing import (
    GENESIS,
    canonical_json,
    legacy_entry_hash,
    mac_input,
    mac_state,
)
from troth.audit.ledger import Head, LedgerConfig, read_head_row, stream_entries
from troth.errors import AuditError, LedgerTamperedError
from troth.store.db import connect, safe_url

if TYPE_CHECKING:
    from troth.config import Settings

Row = tuple[Any, ...]
_ANCHOR = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")
_FIX = "restore the ledger from a backup and find out who changed it; do not append until then"
PUBLISHED = "the published anchor"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification.

    ``first_bad`` and ``reason`` are set when an entry is bad; ``reason`` alone for a finding that
    is not about one entry (the head row deleted, another key); ``missing`` lists audited rows
    without their entry. ``checked`` is the number of entries that verified (the last verified
    entry's seq).
    """

    source: str
    checked: int
    last: Head
    first_bad: int | None = None
    reason: str | None = None
    anchored: int | None = None
    notes: tuple[str, ...] = ()
    missing: tuple[Missing, ...] = ()

    @property
    def ok(self) -> bool:
        return self.first_bad is None and self.reason is None and not self.missing

    def line(self) -> str:
        if self.first_bad is not None:
            return f"entry {self.first_bad}: {self.reason}"
        if self.reason is not None:
            return self.reason
        if self.missing:
            return "; ".join(f"{m.table}: {m.line()}" for m in self.missing)
        text = f"ok: {self.checked} entries, chain intact, head {self.last.anchor()}"
        return "; ".join((text, *self.notes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "checked": self.checked,
            "last_verified": self.checked,
            "head": {"seq": self.last.seq, "hash": self.last.hash},
            "first_bad": self.first_bad,
            "reason": self.reason,
            "anchored": self.anchored,
            "missing": [m.to_dict() for m in self.missing],
            "notes": list(self.notes),
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
    rows: Iterable[Row],
    *,
    key: bytes,
    source: str,
    head: Head | None = None,
    head_missing: bool = False,
    anchors: Sequence[tuple[str, Head]] = (),
    legacy: bool = False,
) -> VerifyResult:
    """Check entries ``(seq, ts, kind, actor, subject, data_json, prev, mac, ref)`` in order.

    *head* is the head row (``head_missing`` when the row is gone); *anchors* are
    ``(label, head)`` pairs recorded outside the database. With *legacy*, entries are checked
    with troth 0.1's unkeyed SHA-256 (only ``troth audit upgrade`` does that).
    """
    base = mac_state(key)
    expected = 1
    last = GENESIS
    before_last = ""
    at = {a.seq: (label, a.hash) for label, a in anchors}
    mismatch = _legacy_mismatch if legacy else _mac_mismatch

    def bad(pos: int, reason: str) -> VerifyResult:
        return VerifyResult(source, pos - 1, Head(pos - 1, ""), pos, reason)

    for seq, ts, kind, actor, subject, data, prev, digest, ref in rows:
        if seq != expected:
            return bad(
                expected,
                f"expected seq {expected}, found {seq} (entry deleted, inserted or reordered)",
            )
        if subject == "":  # troth never writes it
            return bad(expected, "empty subject (entry edited)")
        try:
            if legacy:
                computed = legacy_entry_hash(seq, ts, kind, actor, subject, data, prev)
            else:
                mac = base.copy()
                mac.update(mac_input(seq, ts, kind, actor, subject, data, prev, ref))
                computed = mac.hexdigest()
        except (TypeError, ValueError):
            return bad(expected, "a field has the wrong type (entry edited)")
        if prev != last:
            if expected > 1 and prev == before_last:
                return bad(
                    expected - 1,
                    f"entry {expected} links past it to entry {expected - 2} "
                    "(forged entry inserted)",
                )
            if computed != digest:
                return bad(expected, mismatch(seq, ts, kind, actor, subject, data, prev, digest))
            if expected == 1:
                return bad(1, "prev is not the genesis value (entries before it removed)")
            return bad(
                expected - 1,
                f"entry {expected} does not link to it (entry edited and re-chained, "
                "or forged entry inserted)",
            )
        if computed != digest:
            return bad(expected, mismatch(seq, ts, kind, actor, subject, data, prev, digest))
        if seq in at and digest != at[seq][1]:
            return bad(seq, f"MAC differs from {at[seq][0]} (ledger rewritten)")
        before_last, last = last, digest
        expected += 1

    count = expected - 1
    for label, a in sorted(anchors, key=lambda la: -la[1].seq):
        if a.seq > count:
            ends = "the ledger is empty (emptied)" if count == 0 else f"the ledger ends at {count}"
            return bad(
                count + 1,
                f"missing: {label} records entries up to {a.seq}, {ends} "
                "(entries deleted from the end, head moved back, or an older backup restored)",
            )
    if head_missing:
        return VerifyResult(
            source,
            count,
            Head(count, last),
            None,
            f"audit_head: the head row is missing (deleted); last verified entry: {count}",
        )
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
            return bad(count, "MAC differs from the head row (entry edited and re-chained)")
    return VerifyResult(source, count, Head(count, last))


def _legacy_mismatch(*_: Any) -> str:
    return "hash mismatch (entry edited)"


def _mac_mismatch(
    seq: int, ts: str, kind: str, actor: str, subject: str | None, data: str, prev: str, mac: str
) -> str:
    if legacy_entry_hash(seq, ts, kind, actor, subject, data, prev) == mac:
        return (
            "unkeyed SHA-256 entry: written by troth 0.1 (run `troth audit upgrade`), or the chain "
            "was rewritten without the ledger key"
        )
    return "MAC mismatch (entry edited, or written without the ledger key)"


def verify(
    engine: Engine,
    *,
    anchor: Head | None = None,
    settings: Settings | None = None,
    use_anchor_file: bool = True,
) -> VerifyResult:
    """Verify the ledger in troth's state DB, reading one consistent snapshot.

    Checks the chain with the MAC key, the head row, the anchor file's record for this database
    (unless *use_anchor_file* is off), *anchor* when given, and the audited tables' rows.
    """
    cfg = LedgerConfig.of(engine, settings)
    source = safe_url(engine.url)
    anchors: list[tuple[str, Head]] = []
    notes: list[str] = []
    if anchor is not None:
        anchors.append((PUBLISHED, anchor))
    with connect(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            row = read_head_row(conn)
            if row is not None and row.key_id is not None and row.key_id != cfg.key_id:
                return VerifyResult(
                    source,
                    0,
                    Head(0, ""),
                    None,
                    f"audit_head: the ledger is chained with key id {row.key_id}; this "
                    f"TROTH_SECRET_KEY gives key id {cfg.key_id} (wrong secret key, or the head "
                    "row was edited)",
                )
            if use_anchor_file:
                try:
                    recorded, problem = cfg.anchors.read(cfg.db)
                except AuditError as exc:
                    recorded, problem = None, f"{exc.where}: {exc.message}"
                if problem:
                    return VerifyResult(source, 0, Head(0, ""), None, problem)
                if recorded is None:
                    notes.append(f"no anchor recorded for this database in {cfg.anchors.path}")
                else:
                    label = f"the anchor in {cfg.anchors.path}"
                    anchors.append((label, Head(recorded.seq, recorded.hash)))
            result = check_chain(
                stream_entries(conn),
                key=cfg.key,
                source=source,
                head=None if row is None else Head(row.seq, row.hash),
                head_missing=row is None,
                anchors=anchors,
            )
            missing = tuple(missing_entries(conn))
    if use_anchor_file and anchors and anchors[-1][0] != PUBLISHED:
        result = replace(result, anchored=anchors[-1][1].seq)
        notes.append(f"anchor at entry {anchors[-1][1].seq} matches")
    return replace(result, notes=tuple(notes), missing=missing)


def verify_file(
    source: str | Path | IO[str], *, anchor: Head | None = None, settings: Settings | None = None
) -> VerifyResult:
    """Verify a JSONL export (``troth audit export``); a line that is not an entry is tampering.

    A file has no head row: deleting its last lines is only caught with an *anchor*.
    """
    from troth.audit.hashing import ledger_key
    from troth.config import Settings

    key = ledger_key((settings or Settings.from_env()).secret_key)
    if not isinstance(source, str | Path):
        return _verify_stream(source, str(getattr(source, "name", "<stream>")), anchor, key)
    try:
        with open(source, encoding="utf-8") as fh:
            return _verify_stream(fh, str(source), anchor, key)
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


def _verify_stream(fh: IO[str], name: str, anchor: Head | None, key: bytes) -> VerifyResult:
    anchors = [(PUBLISHED, anchor)] if anchor is not None else []
    try:
        return check_chain(_file_rows(fh), key=key, source=name, anchors=anchors)
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
            if not all(isinstance(obj[k], str) for k in ("ts", "kind", "actor", "prev", "hash")):
                raise TypeError
            if not all(isinstance(obj.get(k), str | None) for k in ("subject", "ref")):
                raise TypeError
            row: Row = (obj["seq"], obj["ts"], obj["kind"], obj["actor"], obj["subject"])
            row += (canonical_json(data), obj["prev"], obj["hash"], obj.get("ref"))
        except (ValueError, KeyError, TypeError) as exc:
            why = "is not valid JSON" if isinstance(exc, ValueError) else "is not a ledger entry"
            raise _BadLine(lineno, entries, f"{why} (entry edited)") from exc
        entries += 1
        yield row

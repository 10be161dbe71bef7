"""Deliberate operator actions on the ledger: upgrade a troth 0.1 ledger, reset the anchor.

``upgrade_ledger`` (``troth audit upgrade``): a ledger written before the MAC existed is first
verified with its own unkeyed rule (refused, unchanged, when it does not verify), then re-chained
with the MAC in one transaction: every entry keeps its content, gets its ``ref`` and a new
``prev``/MAC, and a ``ledger.upgraded`` entry records how many entries there were and the old
head's SHA-256, so a head published before the upgrade can still be matched.

``reset_anchor`` (``troth audit anchor --reset``): after a restore from a backup, the anchor is
ahead of the ledger and appends are refused; once the restored ledger verifies without the anchor,
the anchor is moved to its head.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, Engine

from troth.audit.anchor import Anchor, new_anchor
from troth.audit.coverage import ref_of
from troth.audit.hashing import GENESIS, entry_mac
from troth.audit.ledger import (
    COLUMNS,
    Head,
    HeadRow,
    Ledger,
    LedgerTransaction,
    placeholders,
    read_head,
    read_head_row,
    stream_entries,
)
from troth.audit.verify import check_chain, verify
from troth.errors import AuditError, LedgerTamperedError
from troth.store.db import connect, safe_url

if TYPE_CHECKING:
    from troth.config import Settings

BATCH = 10_000


@dataclass(frozen=True)
class Upgraded:
    """What :func:`upgrade_ledger` did: ``legacy`` entries re-chained (0: nothing to do)."""

    legacy: int
    head: Head


def upgrade_ledger(
    engine: Engine, *, settings: Settings | None = None, actor: str = "cli"
) -> Upgraded:
    """Re-chain a troth 0.1 (unkeyed) ledger with the MAC; a no-op for a keyed one."""
    ledger = Ledger(engine, settings=settings)
    cfg = ledger.config
    with connect(engine, write_lock=True) as conn, conn.begin():
        row = read_head_row(conn, for_update=True)
        if row is None:
            read_head(conn)  # raises: the head row is missing
            raise AssertionError  # pragma: no cover
        if row.key_id is not None:
            if row.key_id != cfg.key_id:
                raise AuditError(
                    f"the ledger is chained with key id {row.key_id}; this TROTH_SECRET_KEY "
                    f"gives key id {cfg.key_id}",
                    where="audit_head",
                    fix="run with the TROTH_SECRET_KEY the ledger was written with",
                )
            return Upgraded(0, Head(row.seq, row.hash))
        if row.seq == 0:
            conn.exec_driver_sql(ledger.update_sql, (0, GENESIS, cfg.key_id))
            return Upgraded(0, Head(0, GENESIS))
        old = check_chain(
            stream_entries(conn),
            key=cfg.key,
            source=safe_url(engine.url),
            head=Head(row.seq, row.hash),
            legacy=True,
        )
        if not old.ok:
            raise LedgerTamperedError(
                f"the troth 0.1 ledger does not verify ({old.line()}); it was not upgraded",
                where=safe_url(engine.url),
                fix="restore the ledger from a backup and find out who changed it",
            )
        last = _rechain(conn, cfg.key)
        tx = LedgerTransaction(ledger, conn, HeadRow(row.seq, last, cfg.key_id))
        tx.append(
            "ledger.upgraded",
            {"format": 2, "legacy_entries": row.seq, "legacy_head_sha256": row.hash},
            actor=actor,
        )
        tx._finish()
    ledger._write_anchor(tx.head)
    return Upgraded(row.seq, tx.head)


def _rechain(conn: Connection, key: bytes) -> str:
    """MAC every entry in seq order, in batches; returns the last MAC."""
    mark = placeholders(conn, 1)
    select = f"SELECT {COLUMNS} FROM audit_entry WHERE seq > {mark} ORDER BY seq LIMIT {BATCH}"
    update = f"UPDATE audit_entry SET prev = {mark}, hash = {mark}, ref = {mark} WHERE seq = {mark}"
    prev, after = GENESIS, 0
    while True:
        rows = conn.exec_driver_sql(select, (after,)).all()
        if not rows:
            return prev
        changes = []
        for seq, ts, kind, actor, subject, data, _prev, _hash, _ref in rows:
            ref = ref_of(kind, json.loads(data))
            mac = entry_mac(key, seq, ts, kind, actor, subject, data, prev, ref)
            changes.append((prev, mac, ref, seq))
            prev = mac
        conn.exec_driver_sql(update, changes)
        after = int(rows[-1][0])


def reset_anchor(engine: Engine, *, settings: Settings | None = None) -> tuple[Anchor | None, Head]:
    """Move this database's anchor to the ledger's head, once the ledger verifies without it.

    Returns the anchor replaced (or ``None``) and the new anchored head; raises
    :class:`LedgerTamperedError` when the ledger does not verify on its own.
    """
    ledger = Ledger(engine, settings=settings)
    cfg = ledger.config
    with cfg.anchors.locked():
        result = verify(engine, settings=settings, use_anchor_file=False)
        if result.first_bad is not None or result.reason is not None:
            result.raise_if_tampered()
        try:
            old, _problem = cfg.anchors.read(cfg.db)
        except AuditError:
            old = None
        head = result.last
        cfg.anchors.advance(new_anchor(cfg.db, head.seq, head.hash, cfg.key_id), force=True)
    return old, head

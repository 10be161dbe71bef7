"""What an erasure has done so far, in troth's state DB: its key set and its finished stores.

The key set (primary keys per table, or the lookups that find a table without one) is saved in one
transaction *before* the first write, so a run that died re-runs by the same keys: masking changed
the identity columns, finding the rows again would miss them. Personal key values are saved as
keyed hashes only, identity values not at all (the re-run gives them again). A store is marked
``done`` right after its transaction commits; a re-run skips done stores and redoes the others
(their transaction rolled back as a whole).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from troth.audit import Ledger
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap, is_personal_category
from troth.dsr.models import DsrKeySet, DsrRequest, DsrStoreProgress
from troth.dsr.requests import now
from troth.dsr.resolve import KeySet, dump_keys, load_keys
from troth.masking.base import hmac_hex
from troth.store.db import translate_errors


def save_keyset(
    engine: Engine, request_id: str, keys: KeySet, datamap: DataMap, secret: bytes
) -> None:
    """Save the key set and mark the request resolved, in one transaction.

    Keys are ids; a key column that is personal data itself (an e-mail primary key, a reference
    by e-mail) is saved as troth's keyed hash of its text, and identity values not at all: no
    person can be read back from troth's state, and a resumed run still finds the rows."""
    with translate_errors(engine), Session(engine) as s, s.begin():
        s.execute(sa.delete(DsrKeySet).where(DsrKeySet.request_id == request_id))
        for tid, entries in keys.items():
            for e in entries:
                personal = any(_personal(datamap, tid, c) for c in e.columns)
                s.add(
                    DsrKeySet(
                        request_id=request_id,
                        table_ref=str(tid),
                        column=",".join(e.columns),
                        identity=e.identity,
                        keys=dump_keys(e, personal, lambda v: hmac_hex(secret, v) or ""),
                    )
                )
        row = s.get(DsrRequest, request_id)
        assert row is not None
        row.resolved_at = now().isoformat()


def load_keyset(engine: Engine, request_id: str, given: Mapping[str, list[str]]) -> KeySet:
    keys: KeySet = {}
    stmt = sa.select(DsrKeySet).where(DsrKeySet.request_id == request_id)
    with translate_errors(engine), Session(engine) as s:
        for row in s.scalars(stmt):
            dataset, _, table = row.table_ref.partition(".")
            keys.setdefault(TableId(dataset, table), []).append(
                load_keys(tuple(row.column.split(",")), row.identity, row.keys, given)
            )
    return keys


def _personal(datamap: DataMap, tid: TableId, column: str) -> bool:
    """A key column whose values are personal data (an identity, or a personal category that is
    not a mere id)."""
    f = datamap.resolve(tid.dataset, tid.table, column)
    if f is None:
        return False
    if f.identity:
        return True
    return any(is_personal_category(c) and not c.startswith("user.unique_id") for c in f.categories)


def done_stores(engine: Engine, request_id: str) -> dict[str, dict[str, Any]]:
    """Connections whose erasure committed, with the counts recorded then."""
    stmt = sa.select(DsrStoreProgress).where(
        DsrStoreProgress.request_id == request_id, DsrStoreProgress.status == "done"
    )
    with translate_errors(engine), Session(engine) as s:
        return {r.connection: json.loads(r.counts or "{}") for r in s.scalars(stmt)}


def mark_store_done(
    engine: Engine,
    request_id: str,
    connection: str,
    counts: Mapping[str, Any],
    *,
    evidence: Mapping[str, Any] | None = None,
    actor: str = "api",
) -> None:
    """Mark the store done and, in the same transaction, write its ``dsr.store_erased`` entry
    (``evidence``: counts, kept rows and holds, never values): both or neither."""
    with translate_errors(engine), Ledger(engine).transaction() as tx, Session(bind=tx.conn) as s:
        if evidence is not None:
            tx.append("dsr.store_erased", evidence, actor=actor, subject=f"dsr:{request_id}")
        row = s.get(DsrStoreProgress, (request_id, connection))
        if row is None:
            row = DsrStoreProgress(request_id=request_id, connection=connection)
            s.add(row)
        row.status = "done"
        row.counts = json.dumps(counts, sort_keys=True)
        row.updated_at = now().isoformat()
        s.flush()  # inside the ledger's transaction, which commits both


def forget_keys(conn: Connection, request_id: str) -> None:
    """Drop the key set, in the transaction that completes the request (nothing more to
    resume)."""
    conn.execute(sa.delete(DsrKeySet).where(DsrKeySet.request_id == request_id))

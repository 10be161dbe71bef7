"""Person (litigation) holds in troth's state: by a person's identity, or by one row's key.

An identity hold stores troth's keyed hash of the value (``h:<hex>``, the key is
``TROTH_SECRET_KEY``), never the value; sweeps match it in the database with the same HMAC, so
every row linked to that person (through the map's references) is kept. A hold's row and its audit
entry commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.audit import Ledger
from troth.audit.hashing import keyed_hash, utc_timestamp
from troth.errors import RetentionError
from troth.policy.model import LegalBasis
from troth.retention.models import RetentionPersonHold
from troth.retention.query import PersonHold as SweepHold
from troth.retention.query import PersonHolds
from troth.store import connect

KEYED_PREFIX = "h:"


@dataclass(frozen=True)
class PersonHold:
    id: int
    kind: str
    target: str  # "email h:ab12..." or "shop.customers#7"
    basis: str
    reason: str
    law: str | None
    created_at: str


def add_hold(
    engine: Engine,
    secret: bytes,
    *,
    reason: str,
    basis: str = "legal_obligation",
    law: str | None = None,
    identity: str | None = None,
    value: str | None = None,
    table: str | None = None,
    key: str | None = None,
    actor: str = "cli",
) -> PersonHold:
    """Add a hold on a person (``identity`` + ``value``) or a row (``table`` = ``dataset.table``
    + ``key``); writes ``retention.hold_added`` to the ledger."""
    if basis not in LegalBasis.__members__:
        raise RetentionError(
            f"unknown legal basis {basis!r}",
            where="--basis",
            fix=f"use one of: {', '.join(LegalBasis.__members__)}",
        )
    row: dict[str, object] = {
        "basis": basis,
        "reason": reason,
        "law": law,
        "created_at": utc_timestamp(),
    }
    if identity and value:
        row |= {"kind": "identity", "identity": identity, "value_hash": keyed_hash(secret, value)}
    elif table and key:
        dataset, sep, tname = table.partition(".")
        if not sep or not tname:
            raise RetentionError(
                "a row hold names its table as dataset.table",
                where="--table",
                fix="e.g. --table shop.customers --key 42",
            )
        row |= {"kind": "row", "dataset": dataset, "table_name": tname, "row_key": key}
    else:
        raise RetentionError(
            "a hold names a person (--identity and --value) or a row (--table and --key)",
            where="troth retention hold add",
            fix="e.g. --identity email --value <the address>, or --table shop.customers --key 42",
        )
    t = cast(sa.Table, RetentionPersonHold.__table__)
    with Ledger(engine).transaction() as tx:
        pk = tx.conn.execute(sa.insert(t).values(**row)).inserted_primary_key
        assert pk is not None
        new_id = int(pk[0])
        hold = _hold(tx.conn.execute(sa.select(t).where(t.c.id == new_id)).one()._mapping)
        tx.append(
            "retention.hold_added",
            {"hold_id": new_id, "kind": hold.kind, "target_ref": hold.target, "basis": basis},
            actor=actor,
        )
    return hold


def release_hold(engine: Engine, hold_id: int, *, actor: str = "cli") -> None:
    """Lift a hold (kept in state, marked released); writes ``retention.hold_released``."""
    t = cast(sa.Table, RetentionPersonHold.__table__)
    with Ledger(engine).transaction() as tx:
        done = tx.conn.execute(
            sa.update(t)
            .where(t.c.id == hold_id, t.c.released_at.is_(None))
            .values(released_at=utc_timestamp())
        ).rowcount
        if not done:
            raise RetentionError(
                f"no active person hold with id {hold_id}",
                where="troth retention hold remove",
                fix="list the holds with `troth retention hold list`",
            )
        tx.append("retention.hold_released", {"hold_id": hold_id}, actor=actor)


def list_holds(engine: Engine) -> list[PersonHold]:
    t = cast(sa.Table, RetentionPersonHold.__table__)
    with connect(engine) as conn:
        rows = conn.execute(sa.select(t).where(t.c.released_at.is_(None)).order_by(t.c.id)).all()
    return [_hold(r._mapping) for r in rows]


def active_person_holds(engine: Engine) -> PersonHolds:
    """What a sweep keeps: per hold, its id, reason and identity hash (hex) or row key."""
    by_identity: dict[str, list[SweepHold]] = {}
    by_row: dict[tuple[str, str], list[SweepHold]] = {}
    t = cast(sa.Table, RetentionPersonHold.__table__)
    with connect(engine) as conn:
        rows = conn.execute(sa.select(t).where(t.c.released_at.is_(None)).order_by(t.c.id))
        for r in rows:
            m = r._mapping
            if m["kind"] == "identity":
                value = str(m["value_hash"]).removeprefix(KEYED_PREFIX)
                hold = SweepHold(int(m["id"]), m["reason"], m["basis"], value)
                by_identity.setdefault(m["identity"], []).append(hold)
            else:
                hold = SweepHold(int(m["id"]), m["reason"], m["basis"], str(m["row_key"]))
                by_row.setdefault((m["dataset"], m["table_name"]), []).append(hold)
    return PersonHolds(identity=by_identity, rows=by_row)


def _hold(m: sa.RowMapping) -> PersonHold:
    if m["kind"] == "identity":
        target = f"{m['identity']} {m['value_hash']}"
    else:
        target = f"{m['dataset']}.{m['table_name']}#{m['row_key']}"
    return PersonHold(
        int(m["id"]), m["kind"], target, m["basis"], m["reason"], m["law"], m["created_at"]
    )

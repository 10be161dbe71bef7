"""The disclosure register: a batch row and narrow record rows, sealed by one ledger entry.

A batch and its rows commit with their ``disclosure.recorded`` audit entry in one transaction
(:meth:`troth.audit.Ledger.transaction`). The entry holds the batch id, the count, the recipient,
purpose and categories, and a SHA-256 digest of the batch row and its record rows in order: a row
altered, added or removed later no longer matches (:func:`verify_register`), and a batch without its
entry is reported by ``troth audit verify`` (:mod:`troth.audit.coverage`). Never a record's value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from troth.audit import Ledger
from troth.audit.ledger import placeholders
from troth.sharing.models import Disclosure, DisclosureBatch, LegalRequestRow
from troth.store.db import connect, read_once

KIND = "disclosure.recorded"
BATCHES: sa.Table = DisclosureBatch.__table__  # type: ignore[assignment]
ROWS: sa.Table = Disclosure.__table__  # type: ignore[assignment]
LEGAL: sa.Table = LegalRequestRow.__table__  # type: ignore[assignment]
BATCH_COLUMNS = (
    "id", "recipient", "purpose", "source", "disclosed_at", "legal_basis", "authority",
    "legal_reference", "actor", "count", "shapes", "legal_request",
)  # fmt: skip
ROW_COLUMNS = ("batch", "n", "subject", "shape")

#: (id, recipient, purpose, source, disclosed_at, legal_basis, authority, legal_reference, actor,
#: count, shapes, legal_request)
BatchTuple = tuple[Any, ...]
#: (batch, n, subject, shape)
RowTuple = tuple[str, int, str, int]


@dataclass(frozen=True)
class Statements:
    """The two INSERTs in the state DB's parameter style."""

    batch: str
    rows: str

    @classmethod
    def of(cls, engine: Engine) -> Statements:
        def sql(table: str, cols: tuple[str, ...]) -> str:
            marks = placeholders(engine, len(cols))
            return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"

        return cls(sql("disclosure_batch", BATCH_COLUMNS), sql("disclosure", ROW_COLUMNS))


def digest(batch: BatchTuple, rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 of the batch row and its record rows (column order as stored), one line each."""
    h = hashlib.sha256(repr(tuple(batch)).encode())
    for row in rows:
        h.update(b"\n")
        h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def seal(batch: BatchTuple, rows: Sequence[RowTuple]) -> dict[str, Any]:
    """The ledger entry's data for a batch."""
    shapes = json.loads(batch[10])
    data: dict[str, Any] = {
        "batch_id": batch[0],
        "count": len(rows),
        "recipient": batch[1],
        "purpose": batch[2],
        "categories": sorted({c for cats, _fields in shapes for c in cats.split()}),
        "source": batch[3],
        "digest": digest(batch, rows),
    }
    if batch[6] is not None:
        data |= {"authority": batch[6], "legal_basis": batch[5], "legal_reference": batch[7],
                 "legal_request_id": batch[11]}  # fmt: skip
    return data


def write_batch(
    ledger: Ledger, sql: Statements, batch: BatchTuple, rows: Sequence[RowTuple], actor: str
) -> None:
    """Store the batch, its rows and its sealing ledger entry in one transaction."""
    if not rows:
        return
    data = seal(batch, rows)
    with ledger.transaction() as tx:
        tx.conn.exec_driver_sql(sql.batch, tuple(batch))
        tx.conn.exec_driver_sql(sql.rows, list(rows))
        tx.append(KIND, data, actor=actor)


@dataclass(frozen=True)
class DisclosedTo:
    """One recipient the person's data was actually disclosed to (Art. 15(1)(c))."""

    recipient: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    count: int
    first: str
    last: str
    legal_request: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "purposes": list(self.purposes),
            "categories": list(self.categories),
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "legal_request": self.legal_request,
        }


def disclosed_to(engine: Engine, subjects: Iterable[str]) -> list[DisclosedTo]:
    """The recipients disclosures were recorded to for any of the subject hashes (one query),
    without those made on a confidential legal request."""
    keys = sorted(set(subjects))
    if not keys:
        return []
    b, d = BATCHES.c, ROWS.c
    query = (
        sa.select(
            b.recipient, b.purpose, b.shapes, d.shape, b.disclosed_at, b.authority, sa.func.count()
        )
        .join(BATCHES, b.id == d.batch)
        .outerjoin(LEGAL, LEGAL.c.id == b.legal_request)
        .where(d.subject.in_(keys))
        # a legal request the law lets the controller keep from the person stays out of the copy
        .where(sa.or_(LEGAL.c.confidential.is_(None), LEGAL.c.confidential == sa.false()))
        .group_by(b.id, d.shape)
    )
    with read_once(engine) as conn:
        rows = conn.execute(query).all()
    merged: dict[str, dict[str, Any]] = {}
    for recipient, purpose, shapes, shape, at, authority, count in rows:
        m = merged.setdefault(
            recipient, {"purposes": set(), "cats": set(), "n": 0, "first": at, "last": at}
        )
        m["purposes"].add(purpose)
        m["cats"].update(json.loads(shapes)[shape][0].split())
        m["n"] += int(count)
        m["first"], m["last"] = min(m["first"], at), max(m["last"], at)
        m["legal"] = m.get("legal", False) or authority is not None
    return [
        DisclosedTo(
            r,
            tuple(sorted(m["purposes"])),
            tuple(sorted(m["cats"])),
            m["n"],
            m["first"],
            m["last"],
            m["legal"],
        )
        for r, m in sorted(merged.items())
    ]


def verify_register(engine: Engine) -> list[str]:
    """Problems (one line each, batch ids only): a batch that no longer matches its seal."""
    with connect(engine) as conn:
        seals = {
            str(data["batch_id"]): data
            for data in (
                json.loads(text)
                for (text,) in conn.exec_driver_sql(
                    f"SELECT data FROM audit_entry WHERE kind = '{KIND}' ORDER BY seq"
                )
            )
        }
        batches = _batches(conn)
    problems: list[str] = []
    for batch_id, data in seals.items():
        found = batches.pop(batch_id, None)
        if found is None:
            problems.append(f"disclosure batch {batch_id}: sealed in the ledger, missing here")
            continue
        batch, rows = found
        if len(rows) != data["count"]:
            problems.append(
                f"disclosure batch {batch_id}: {len(rows)} rows; its ledger entry seals "
                f"{data['count']}"
            )
        elif digest(batch, rows) != data["digest"]:
            problems.append(f"disclosure batch {batch_id}: altered since the ledger sealed it")
    problems += [f"disclosure batch {b}: no ledger entry seals it" for b in sorted(batches)]
    return problems


def _batches(conn: Connection) -> dict[str, tuple[BatchTuple, list[tuple[Any, ...]]]]:
    out: dict[str, tuple[BatchTuple, list[tuple[Any, ...]]]] = {}
    for row in conn.exec_driver_sql(f"SELECT {', '.join(BATCH_COLUMNS)} FROM disclosure_batch"):
        out[str(row[0])] = (tuple(row), [])
    cols = ", ".join(ROW_COLUMNS)
    for row in conn.exec_driver_sql(f"SELECT {cols} FROM disclosure ORDER BY batch, n"):
        entry = out.get(str(row[0]))
        if entry is None:
            out[str(row[0])] = entry = ((), [])
        entry[1].append(tuple(row))
    return out

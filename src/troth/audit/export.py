"""Export the ledger as JSONL: one entry per line with every field, streamed in seq order."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from sqlalchemy.engine import Engine

from troth.audit.entry import Entry
from troth.audit.ledger import stream_entries
from troth.errors import AuditError
from troth.store.db import connect


def export(engine: Engine, target: str | Path | IO[str]) -> int:
    """Write every entry to *target* (a path or a text stream); returns the number written."""
    if not isinstance(target, str | Path):
        return _write(engine, target)
    try:
        with open(target, "w", encoding="utf-8") as fh:
            return _write(engine, fh)
    except OSError as exc:
        raise AuditError(
            f"cannot write the export ({exc.strerror})",
            where=str(target),
            fix="pass a writable file path, or omit -o to write to stdout",
        ) from exc


def _write(engine: Engine, fh: IO[str]) -> int:
    count = 0
    with connect(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            batch: list[str] = []
            for row in stream_entries(conn):
                batch.append(Entry.from_row(row).to_json_line())
                if len(batch) == 10_000:
                    fh.write("\n".join(batch) + "\n")
                    count += len(batch)
                    batch.clear()
            if batch:
                fh.write("\n".join(batch) + "\n")
                count += len(batch)
    return count

"""Store schemas kept on disk between processes, under the schema's fingerprint.

A process keeps each store's schema in memory (:mod:`troth.dsr.stores`); a new process, such as
each ``troth dsr access`` run, would read the whole catalogue again (tens of milliseconds, more
with many tables). This file cache lets it read one fingerprint instead: an entry is used only
when the store's fingerprint, read at that moment, is the one the schema was read with.

Only for stores whose fingerprint is derived from the schema's content (PostgreSQL, MariaDB and
MySQL): SQLite's is a counter that another file at the same path can share. An entry holds
table, column, type and key names, never a row value or a URL; its file name is a hash of the
store's name and URL (password left out). A missing, unreadable or foreign entry is a miss;
a cache that cannot be written is skipped. Nothing here ever fails a request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from troth.connectors.base import ColumnInfo, ForeignKeyInfo, SchemaInfo, TableInfo

log = logging.getLogger(__name__)

#: the entry format; another number is a miss
FORMAT = 1


def entry_path(folder: Path, where: str) -> Path:
    """The file of the store *where* (its connection name and URL without password)."""
    return folder / f"{hashlib.sha256(where.encode()).hexdigest()[:32]}.json"


def to_json(schema: SchemaInfo) -> dict[str, Any]:
    return {
        "database": schema.database,
        "tables": [
            {
                "name": t.name,
                "columns": [[c.name, c.type, c.nullable] for c in t.columns],
                "primary_key": list(t.primary_key),
                "foreign_keys": [
                    [list(fk.columns), fk.ref_table, list(fk.ref_columns)] for fk in t.foreign_keys
                ],
            }
            for t in schema.tables
        ],
    }


def from_json(data: dict[str, Any]) -> SchemaInfo:
    return SchemaInfo(
        tuple(
            TableInfo(
                t["name"],
                tuple(ColumnInfo(str(n), str(ty), bool(nl)) for n, ty, nl in t["columns"]),
                tuple(t["primary_key"]),
                tuple(
                    ForeignKeyInfo(tuple(cols), str(ref), tuple(refs))
                    for cols, ref, refs in t["foreign_keys"]
                ),
            )
            for t in data["tables"]
        ),
        database=data["database"],
    )


def load(folder: Path, where: str, version: str) -> SchemaInfo | None:
    """The schema stored for *where* read at fingerprint *version*, or None."""
    try:
        data = json.loads(entry_path(folder, where).read_bytes())
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        if data.get("where") != _label(where) or data.get("version") != version:
            return None
        return from_json(data["schema"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.debug("schema cache entry unreadable (%s): read again", type(exc).__name__)
        return None


def save(folder: Path, where: str, version: str, schema: SchemaInfo) -> None:
    """Store *schema* for *where* at fingerprint *version* (replaces the entry at once)."""
    data = {"format": FORMAT, "where": _label(where), "version": version}
    text = json.dumps({**data, "schema": to_json(schema)}, separators=(",", ":"))
    path = entry_path(folder, where)
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".schema.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        log.debug("schema cache not written (%s)", type(exc).__name__)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _label(where: str) -> str:
    """What an entry records of its store: a hash that tells two stores apart after a collision
    of the (shortened) file name, without writing the URL."""
    return hashlib.sha256(b"troth-schema-cache|" + where.encode()).hexdigest()

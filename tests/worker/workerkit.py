"""Helpers of the worker tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KEY = "test-secret-key-0123456789abcdef"


def row_hashes(url: str) -> dict[str, str]:
    """A hash of every table's rows (sorted), per table."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out: dict[str, str] = {}
    try:
        with engine.connect() as c:
            for table in sorted(sa.inspect(c).get_table_names()):
                rows = c.exec_driver_sql(f'SELECT * FROM "{table}"').all()
                text = "\n".join(sorted(repr(tuple(r)) for r in rows))
                out[table] = hashlib.sha256(text.encode()).hexdigest()
    finally:
        engine.dispose()
    return out

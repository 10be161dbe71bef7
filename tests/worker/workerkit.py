"""Helpers of the worker tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.config import Settings
from troth.dsr.filing import file_request
from troth.dsr.identity import Identity
from troth.dsr.models import DsrRequest
from troth.dsr.requests import Kind
from troth.worker.jobs import Context

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KEY = "test-secret-key-0123456789abcdef"
DEMO = EXAMPLES / "mydigisoft"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def demo_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """The jobs' context of the demo project, its state in a new SQLite file, the test key set."""
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    return Context(DEMO, settings)


def due_in(ctx: Context, n: int, delta: timedelta) -> str:
    """A verified, not approved erasure request of ``customer{n}@example.com`` due at NOW + delta;
    its id."""
    rid = file_request(
        ctx.engine,
        ctx.settings.secret_key,
        DEMO,
        Kind.erasure,
        [Identity("email", f"customer{n}@example.com")],
        actor="test",
        verified=True,
        approve=False,
    ).id
    with ctx.engine.begin() as c:
        c.execute(
            sa.update(DsrRequest)
            .where(DsrRequest.id == rid)
            .values(due_at=(NOW + delta).isoformat())
        )
    return rid


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

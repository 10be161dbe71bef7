"""Run troth's Alembic migrations programmatically (no ``alembic.ini`` needed).

:func:`upgrade` is idempotent and safe when several processes call it at once: it migrates inside
one transaction that first takes a lock (``pg_advisory_xact_lock`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), so the second process waits and then finds the schema at head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.errors import StoreError
from troth.store.db import connect

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "troth_schema_version"
#: key of the PostgreSQL advisory lock held while migrating (arbitrary, fixed)
_PG_LOCK_KEY = 0x7472_6F74_68  # "troth"
#: the newest migration; a database already there is opened without importing Alembic (a test
#: keeps it equal to Alembic's head)
HEAD = "0015"


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """Alembic's head, read from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    with connect(engine) as conn:
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(sa.select(version.c.version_num)).scalars().all()
    if len(rows) > 1:
        raise StoreError(
            f"troth's state DB records {len(rows)} schema versions in {VERSION_TABLE}",
            fix="keep only the newest row; troth's migrations are one line",
        )
    return str(rows[0]) if rows else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring troth's schema to *revision*; a no-op when it is already there."""
    if revision == "head" and current_revision(engine) == HEAD:
        return
    from alembic import command

    cfg = alembic_config()
    with connect(engine, write_lock=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

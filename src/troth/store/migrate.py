"""Run troth's Alembic migrations programmatically (no ``alembic.ini`` needed).

:func:`upgrade` is idempotent and safe when several processes call it at once: it migrates inside
one transaction that first takes a lock (``pg_advisory_xact_lock`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), so the second process waits and then finds the schema at head.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from troth.errors import StoreError
from troth.store.db import connect, file_identity

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "troth_schema_version"
#: key of the PostgreSQL advisory lock held while migrating (arbitrary, fixed)
_PG_LOCK_KEY = 0x7472_6F74_68  # "troth"
#: the newest migration; a database already there is opened without importing Alembic (a test
#: keeps it equal to Alembic's head)
HEAD = "0015"

#: engines whose database was found at :data:`HEAD` (until a connection dies or is new), with
#: the identity of their SQLite file then (:func:`~troth.store.db.file_identity`)
_AT_HEAD: weakref.WeakKeyDictionary[Engine, tuple[int, int] | None] = weakref.WeakKeyDictionary()
#: engines whose new connections clear their mark in :data:`_AT_HEAD`
_LISTENING: weakref.WeakSet[Engine] = weakref.WeakSet()


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
    """Bring troth's schema to *revision*; a no-op when it is already there.

    An engine found at head is not asked again until one of its connections is found dead or
    it opens a new one (a server's database dropped and created again cuts its connections), or
    its SQLite file is another one:
    a request opens the state DB several times, each check two catalog queries."""
    if revision == "head" and engine in _AT_HEAD and _AT_HEAD[engine] == file_identity(engine):
        return
    if revision == "head" and current_revision(engine) == HEAD:
        _at_head(engine)
        return
    from alembic import command

    cfg = alembic_config()
    with connect(engine, write_lock=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    if revision == "head":
        _at_head(engine)


def _at_head(engine: Engine) -> None:
    """Remember that *engine*'s database is at head, until a connection of it dies or is new."""
    if engine not in _LISTENING:
        ref = weakref.ref(engine)

        def _forget(*_: object) -> None:
            known = ref()
            if known is not None:
                _AT_HEAD.pop(known, None)

        event.listen(engine, "connect", _forget)
        event.listen(engine, "invalidate", _forget)  # a connection found dead
        _LISTENING.add(engine)
    _AT_HEAD[engine] = file_identity(engine)

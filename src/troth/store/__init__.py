"""troth's own state database: engines, models and migrations.

>>> engine = open_store("sqlite:///.troth/troth.db")   # engine with the schema at head
"""

from __future__ import annotations

import os
import threading
import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.config import Settings
from troth.store.db import connect, engine_for, ensure_sqlite_folder, safe_url, translate_errors
from troth.store.migrate import current_revision, head_revision, upgrade
from troth.store.models import Base

__all__ = [
    "Base",
    "connect",
    "current_revision",
    "engine_for",
    "forget_engines",
    "head_revision",
    "open_store",
    "safe_url",
    "settings_of",
    "translate_errors",
    "upgrade",
]


#: the settings an engine was opened with (the audit ledger takes its key and anchor from them)
_SETTINGS: weakref.WeakKeyDictionary[Engine, Settings] = weakref.WeakKeyDictionary()


def _shared(settings: Settings) -> Engine | None:
    if settings.database_url.startswith("sqlite"):
        return None
    with _SHARED_LOCK:
        engine = _SHARED.get(settings)
        if engine is None:
            engine = _SHARED[settings] = engine_for(settings.database_url)
        return engine


def forget_engines() -> None:
    """Dispose of the shared state-DB engines."""
    with _SHARED_LOCK:
        engines = list(_SHARED.values())
        _SHARED.clear()
    for engine in engines:
        engine.dispose()


def _after_fork() -> None:
    for engine in _SHARED.values():
        engine.dispose(close=False)
    _SHARED.clear()


os.register_at_fork(after_in_child=_after_fork)


def settings_of(engine: Engine) -> Settings | None:
    """The :class:`Settings` that :func:`open_store` was given for *engine*, if any."""
    return _SETTINGS.get(engine)


#: engines of server state DBs per settings: the calls of one process share a connection pool
_SHARED: dict[Settings, Engine] = {}
_SHARED_LOCK = threading.Lock()


def open_store(settings_or_url: Settings | str | sa.URL, *, migrate: bool = True) -> Engine:
    """An engine for troth's state DB with the schema upgraded to head (unless *migrate* is off).

    Given :class:`Settings` naming a server (PostgreSQL), the engine is shared by the calls of
    this process with the same settings; a SQLite file gets its own engine each time."""
    url = settings_or_url.database_url if isinstance(settings_or_url, Settings) else settings_or_url
    engine = _shared(settings_or_url) if isinstance(settings_or_url, Settings) else None
    engine = engine or engine_for(url)
    ensure_sqlite_folder(url)
    if migrate:
        upgrade(engine)
    if isinstance(settings_or_url, Settings):
        _SETTINGS[engine] = settings_or_url
    return engine

"""troth's own state database: engines, models and migrations.

>>> engine = open_store("sqlite:///.troth/troth.db")   # engine with the schema at head

``Base`` (the models' declarative base, :mod:`troth.store.models`) loads on first use: importing
the engines (:mod:`troth.store.db`, which a store connector shares) loads no ORM.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.config import Settings
from troth.store.db import (
    connect,
    engine_for,
    ensure_sqlite_folder,
    forget_engines,
    is_sqlite_file,
    safe_url,
    shared_engine,
    translate_errors,
)
from troth.store.migrate import current_revision, head_revision, upgrade

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name == "Base":
        from troth.store.models import Base

        return Base
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: the settings an engine was opened with (the audit ledger takes its key and anchor from them)
_SETTINGS: weakref.WeakKeyDictionary[Engine, Settings] = weakref.WeakKeyDictionary()


def settings_of(engine: Engine) -> Settings | None:
    """The :class:`Settings` that :func:`open_store` was given for *engine*, if any."""
    return _SETTINGS.get(engine)


def open_store(settings_or_url: Settings | str | sa.URL, *, migrate: bool = True) -> Engine:
    """An engine for troth's state DB with the schema upgraded to head (unless *migrate* is off).

    Given :class:`Settings` naming a server (PostgreSQL) or a SQLite file, the engine is shared
    by the calls of this process with the same settings (its pool and its compiled statements);
    an in-memory SQLite database gets its own engine each time."""
    url = settings_or_url.database_url if isinstance(settings_or_url, Settings) else settings_or_url
    if isinstance(settings_or_url, Settings) and (
        not str(url).startswith("sqlite") or is_sqlite_file(url)
    ):
        engine = shared_engine(url, settings=settings_or_url)
    else:
        engine = engine_for(url)
    ensure_sqlite_folder(url)
    if migrate:
        upgrade(engine)
    if isinstance(settings_or_url, Settings):
        _SETTINGS[engine] = settings_or_url
    return engine

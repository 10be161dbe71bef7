"""Engines of the SQL connector: the URL's default driver, the engine (pooled and shared for a
server, the caller's own for SQLite, with troth's SQL functions and foreign keys enforced), and
PostgreSQL key sets sent as one binary ``int8[]`` array.

See :mod:`troth.connectors.sql`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from itertools import chain
from typing import Any

import sqlalchemy as sa

from troth.connectors.match import install_sqlite_norm, int64s
from troth.connectors.mentions import install_sqlite_mention_functions
from troth.masking.hash import install_sqlite_functions
from troth.store.db import pooled_engine, shared_engine

_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql"}
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


def make_engine(url: str) -> tuple[sa.Engine, bool]:
    """The engine for ``url`` and whether it is shared (a server's, pooled for the requests of
    this process, see :func:`troth.store.db.shared_engine`) or the caller's (SQLite)."""
    driver_url = with_driver(url)
    if sa.make_url(driver_url).get_backend_name() == "sqlite":
        engine = sa.create_engine(driver_url, pool_pre_ping=True)
        install_sqlite_functions(engine)  # troth_hmac() for set-based hash masking
        install_sqlite_mention_functions(engine)  # mentions in free text
        enforce_sqlite_foreign_keys(engine)
        return engine, False
    return shared_engine(driver_url, lambda: pooled_engine(driver_url)), True


class _IntKeys(list[int]):
    """An all-``bigint`` key set: psycopg sends it as one binary ``int8[]`` packed in one call.

    Only integers: a text array of strings would be typed ``text[]`` in binary, where today's
    untyped text lets the server coerce (an identity ``"42"`` looked up in an integer column).
    """


def wrap_keys(values: Sequence[Any]) -> list[Any]:
    """An array parameter: all-``bigint`` sets as one binary ``int8[]`` (see :class:`_IntKeys`)."""
    return _IntKeys(values) if int64s(values) else list(values)


def _register_binary_keys() -> None:
    try:
        import psycopg
        from psycopg import pq
        from psycopg.adapt import Dumper
    except ImportError:  # pragma: no cover - psycopg is the default PostgreSQL driver
        return

    class IntKeysDumper(Dumper):
        format = pq.Format.BINARY
        oid = 1016  # int8[]

        def dump(self, obj: Any) -> bytes:
            # PostgreSQL's binary array: 1 dimension, no NULLs, int8 elements (oid 20), lower
            # bound 1; then per element its length (8) and its value
            n = len(obj)
            head = struct.pack(">iiIii", 1, 0, 20, n, 1)
            return head + struct.pack(">" + "iq" * n, *chain.from_iterable((8, v) for v in obj))

    psycopg.adapters.register_dumper(_IntKeys, IntKeysDumper)


_register_binary_keys()


def enforce_sqlite_foreign_keys(engine: sa.Engine) -> None:
    """SQLite enforces foreign keys only when asked, per connection: troth always asks, so a
    delete that would leave a dangling reference fails there as it does on the other engines."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        install_sqlite_norm(dbapi_conn)  # troth_norm(): identity forms, as the other engines


def with_driver(url: str) -> str:
    """Add troth's default driver when the URL names none (``postgresql://`` -> psycopg)."""
    scheme, sep, rest = url.partition("://")
    base, plus, driver = scheme.partition("+")
    base = _ALIASES.get(base.lower(), base.lower())
    if not plus:
        driver = _DRIVERS.get(base, "")
    return f"{base}+{driver}{sep}{rest}" if driver else f"{base}{sep}{rest}"

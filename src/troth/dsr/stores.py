"""The stores a plan touches: one connector per connection name, opened lazily, closed together.

A store's schema (column types for masking and the export, its foreign keys for erasure's safety)
is read once and kept for :data:`SCHEMA_TTL` seconds per process and store, so the requests of a
long-running process do not each pay the catalogue queries. A schema change shows after at most
that long; a foreign key added meanwhile can only make a store refuse a delete (rolled back, exit
4), never let one through.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType

from troth.connectors.base import Connector, SchemaInfo
from troth.connectors.names import open_connection

#: seconds a store's schema is reused by the requests of one process
SCHEMA_TTL = 30.0
_SCHEMAS: dict[str, tuple[float, SchemaInfo]] = {}


def forget_schemas() -> None:
    """Drop every cached schema (a test that changes a schema under a running process)."""
    _SCHEMAS.clear()


class Stores:
    """Connectors by connection name (from ``TROTH_CONN_<NAME>``, or given ready-made)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        connectors: Mapping[str, Connector] | None = None,
        *,
        hash_key: bytes | None = None,
    ) -> None:
        self._env = env
        self._hash_key = hash_key
        self._given = dict(connectors or {})
        self._opened: dict[str, Connector] = {}
        self._schemas: dict[str, SchemaInfo] = {}

    def get(self, connection: str) -> Connector:
        if connection in self._given:
            given = self._given[connection]
            if self._hash_key is not None and getattr(given, "hash_key", 0) is None:
                given.hash_key = self._hash_key  # type: ignore[attr-defined]
            return given
        if connection not in self._opened:
            conn = open_connection(connection, self._env)
            if self._hash_key is not None and hasattr(conn, "hash_key"):
                conn.hash_key = self._hash_key
            self._opened[connection] = conn
        return self._opened[connection]

    def schema(self, connection: str) -> SchemaInfo:
        """The store's schema, read once per run and per :data:`SCHEMA_TTL` seconds."""
        if connection not in self._schemas:
            conn = self.get(connection)
            engine = getattr(conn, "engine", None)
            where = f"{connection}|{engine.url!r}" if engine is not None else None
            cached = _SCHEMAS.get(where) if where else None
            if cached is not None and time.monotonic() - cached[0] < SCHEMA_TTL:
                self._schemas[connection] = cached[1]
            else:
                self._schemas[connection] = conn.introspect()
                if where:
                    _SCHEMAS[where] = (time.monotonic(), self._schemas[connection])
        return self._schemas[connection]

    def close(self) -> None:
        for conn in self._opened.values():
            conn.close()
        self._opened.clear()

    def __enter__(self) -> Stores:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

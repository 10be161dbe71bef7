"""The stores a plan touches: one connector per connection name, opened lazily, closed together."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from troth.connectors.base import Connector, SchemaInfo
from troth.connectors.names import open_connection


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
        """The store's schema (types for masking), read once per run."""
        if connection not in self._schemas:
            self._schemas[connection] = self.get(connection).introspect()
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

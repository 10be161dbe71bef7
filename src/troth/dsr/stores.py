"""The stores a plan touches: one connector per connection name, opened lazily, closed together.

A store's schema (column types for masking and the export, its foreign keys for erasure's safety)
is read once per process and store and kept while the store's schema fingerprint (one cheap
catalogue query, :meth:`SqlConnector.schema_version`) stays the same: each request checks it, so
a schema change shows on the next request, and the requests of a long-running process do not
each pay the full catalogue read. A store that has no fingerprint is read on every request.
Given a cache folder, a new process starts from the schemas earlier ones read
(:mod:`troth.dsr.schema_cache`), under the same fingerprint check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from troth.connectors.base import Connector, SchemaInfo
from troth.connectors.names import open_connection
from troth.dsr import schema_cache

#: per store (connection name and URL): its schema fingerprint and the schema read with it
_SCHEMAS: dict[str, tuple[str, SchemaInfo]] = {}


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
        cache_dir: Path | None = None,
    ) -> None:
        self._env = env
        self._hash_key = hash_key
        #: where schemas are kept between processes (None: this process only)
        self._cache_dir = cache_dir
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

    def ping(self, connection: str) -> None:
        """Raise StoreDownError when the store is down. A store with a schema fingerprint answers
        by it: the read that checks the request's schema is still current is the ping (one round
        trip instead of two)."""
        conn = self.get(connection)
        if callable(getattr(conn, "schema_version", None)):
            self.schema(connection)
        else:
            conn.ping()

    def schema(self, connection: str) -> SchemaInfo:
        """The store's schema: read again only when its fingerprint changed."""
        if connection not in self._schemas:
            conn = self.get(connection)
            engine = getattr(conn, "engine", None)
            versioned = getattr(conn, "schema_version", None)
            version = versioned() if callable(versioned) else None
            if engine is None or version is None:
                self._schemas[connection] = conn.introspect()
                return self._schemas[connection]
            where = f"{connection}|{engine.url!r}"
            cached = _SCHEMAS.get(where)
            if cached is not None and cached[0] == version:
                schema = cached[1]
            else:
                # a server's fingerprint is its schema's content; SQLite's is a counter, which
                # another file at the same path can share: not kept on disk
                folder = self._cache_dir if engine.dialect.name != "sqlite" else None
                on_disk = schema_cache.load(folder, where, version) if folder else None
                schema = on_disk or conn.introspect()
                if folder and on_disk is None:
                    schema_cache.save(folder, where, version, schema)
                _SCHEMAS[where] = (version, schema)
            self._schemas[connection] = schema
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

"""The key-store protocol: what troth needs from a key-value store (Redis), beside the SQL-shaped
:class:`~troth.connectors.base.Connector`.

A key store is reached by *patterns*, not tables: keys are found with an incremental scan (never a
blocking listing of every key), read, deleted, or, for hashes, have named fields masked. Every
call takes batches of keys and sends them pipelined (one round trip per batch).

Key stores register in :data:`KEYSTORES` under a URL scheme family (``redis``);
:func:`open_keystore` resolves a connection name like SQL stores do (``TROTH_CONN_<NAME>``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from troth.connectors.base import scheme_family
from troth.connectors.names import resolve_connection
from troth.plugins import Registry

#: keys per scan step and per pipelined batch
KEY_BATCH = 1000


@dataclass(frozen=True)
class KeyValue:
    """One key as read: its type (``string``, ``hash``, ``list``, ``set``, ``zset``) and value
    (text, or a dict/list of texts); bytes that are not UTF-8 are replaced."""

    key: str
    type: str
    value: Any


@runtime_checkable
class KeyStore(Protocol):
    """An open connection to one key-value store, named for messages (never its URL)."""

    name: str

    def ping(self) -> None:
        """Raise StoreDownError when the store cannot be reached."""

    def scan(self, pattern: str) -> Iterator[list[bytes]]:
        """Keys matching the glob ``pattern``, in batches, by incremental scan."""

    def read(self, keys: Sequence[bytes]) -> list[KeyValue]:
        """Type and value of each key still present."""

    def delete(self, keys: Sequence[bytes]) -> int:
        """Delete the keys; how many existed."""

    def hash_fields(self, keys: Sequence[bytes], fields: Sequence[str]) -> list[list[bytes | None]]:
        """Per key, the values of ``fields`` of the hash (None where absent)."""

    def set_hash_fields(self, changes: Mapping[bytes, Mapping[str, bytes | None]]) -> int:
        """Set (or, for None, remove) fields of hashes; how many fields were written."""

    def close(self) -> None: ...


#: a key-store factory: ``(url, name) -> KeyStore``
KeyStoreFactory = Callable[[str, str], KeyStore]

KEYSTORES: Registry[KeyStoreFactory] = Registry("key store", ("troth.connectors.redisstore",))


def open_keystore(connection: str, env: Mapping[str, str] | None = None) -> KeyStore:
    """Resolve and open key store ``connection``; messages carry the name, never the URL."""
    url = resolve_connection(connection, env)
    factory = KEYSTORES.get(scheme_family(url), where=f"connection {connection!r}")
    return factory(url, connection)


def glob_escape(value: str) -> str:
    """``value`` matched literally inside a Redis glob pattern."""
    return "".join("\\" + ch if ch in "*?[]\\^" else ch for ch in value)

"""Data-subject requests over the key stores of the data map (Redis): plan, access, erasure.

A key pattern (``session:{email}:*``) becomes one glob per value of the request's identities
(glob-escaped, e-mail lower-cased); keys are found by incremental scan. Access exports each key
(``key``, ``type``, ``value``) as a row of the table ``<keystore>.<pattern name>``; erasure deletes
the keys, or masks the named fields of hashes (``null`` removes a field, ``redact`` and ``hash``
overwrite it; a field already masked is left alone, so a second run changes nothing). A dry run
counts what would change and writes nothing. Results are shaped like the SQL tables' results, so
the request's evidence and resumability are the same (one ``keystore:<name>`` store each).
"""

from __future__ import annotations

import hmac
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Protocol

from troth.connectors.keystore import KeyStore, glob_escape, open_keystore
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap, KeyPattern, MaskStrategy
from troth.dsr.holders import Opened
from troth.dsr.identity import Identity

REDACTED = b"[redacted]"
_HEX64 = re.compile(rb"^[0-9a-f]{64}$")


class Sink(Protocol):
    def add(self, table: TableId, row: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class KeyStep:
    """One pattern of one key store, with the globs of this request (none: not reached)."""

    keystore: str
    connection: str
    pattern: KeyPattern
    globs: tuple[str, ...]

    @property
    def table(self) -> TableId:
        return TableId(self.keystore, self.pattern.name)

    def describe(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "connection": self.connection,
            "pattern": self.pattern.pattern,
            "erase": self.pattern.erase,
            "reached": bool(self.globs),
        }


def plan_keys(datamap: DataMap, identities: Sequence[Identity]) -> list[KeyStep]:
    """The key steps of a request with ``identities`` (patterns it cannot fill have no globs)."""
    values: dict[str, list[str]] = {}
    for ident in identities:
        vals = values.setdefault(ident.name, [])
        if ident.normalised() not in vals:
            vals.append(ident.normalised())
    steps: list[KeyStep] = []
    for ks in datamap.keystores:
        for kp in ks.keys:
            names = kp.identities
            globs: list[str] = []
            if all(n in values for n in names):
                for combo in itertools.product(*(values[n] for n in names)):
                    glob = kp.pattern
                    for n, v in zip(names, combo, strict=True):
                        glob = glob.replace("{" + n + "}", glob_escape(v))
                    globs.append(glob)
            steps.append(KeyStep(ks.name, ks.connection, kp, tuple(globs)))
    return steps


class KeyStores(Opened[KeyStore]):
    """Key stores by connection name, opened lazily, closed together."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._env = env

    def get(self, connection: str) -> KeyStore:
        return self._opened(connection, lambda: open_keystore(connection, self._env))

    def ping(self, steps: Iterable[KeyStep]) -> None:
        for conn in dict.fromkeys(s.connection for s in steps):
            self.get(conn).ping()


def found_keys(store: KeyStore, step: KeyStep) -> list[bytes]:
    """Every key the step's globs match (once each, in a stable order)."""
    seen: dict[bytes, None] = {}
    for glob in step.globs:
        for batch in store.scan(glob):
            seen.update(dict.fromkeys(batch))
    return sorted(seen)


def access_keys(steps: Sequence[KeyStep], stores: KeyStores, sink: Sink) -> list[dict[str, Any]]:
    """Export the person's keys to ``sink``; one result per reached step."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step.globs:
            continue
        store = stores.get(step.connection)
        values = store.read(found_keys(store, step))
        for kv in values:
            sink.add(step.table, {"key": kv.key, "type": kv.type, "value": kv.value})
        out.append({"table": str(step.table), "action": "access", "rows": len(values)})
    return out


def erase_keys(
    steps: Sequence[KeyStep], stores: KeyStores, key: bytes, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Delete or mask the person's keys; one result per reached step (counts only)."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if not step.globs:
            continue
        store = stores.get(step.connection)
        keys = found_keys(store, step)
        if step.pattern.erase == "delete":
            n = len(keys) if dry_run else store.delete(keys)
            out.append({"table": str(step.table), "action": "delete", "rows": n})
            continue
        changes = _masks(store, step.pattern, keys, key)
        if changes and not dry_run:
            store.set_hash_fields(changes)
        fields = sum(len(f) for f in changes.values())
        out.append({"table": str(step.table), "action": "mask", "rows": len(changes),
                    "fields": fields})  # fmt: skip
    return out


def _masks(
    store: KeyStore, pattern: KeyPattern, keys: Sequence[bytes], key: bytes
) -> dict[bytes, dict[str, bytes | None]]:
    """Per hash key, the fields to change and their masked value (None: remove the field)."""
    names = [f.name for f in pattern.fields]
    changes: dict[bytes, dict[str, bytes | None]] = {}
    for k, current in zip(keys, store.hash_fields(keys, names), strict=True):
        mine: dict[str, bytes | None] = {}
        for f, value in zip(pattern.fields, current, strict=True):
            if value is None:
                continue
            if f.mask is MaskStrategy.null:
                mine[f.name] = None
            elif f.mask is MaskStrategy.redact and value != REDACTED:
                mine[f.name] = REDACTED
            elif f.mask is MaskStrategy.hash and not _HEX64.match(value):
                mine[f.name] = hmac.new(key, value, sha256).hexdigest().encode()
        if mine:
            changes[k] = mine
    return changes

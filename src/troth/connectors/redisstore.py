"""The Redis key store (``redis://`` and ``rediss://`` URLs), on redis-py.

Keys are found with ``SCAN MATCH`` (never ``KEYS``); reads, deletes and hash-field writes go in
pipelines of :data:`~troth.connectors.keystore.KEY_BATCH` keys. Driver errors are mapped into
troth's tree: an unreachable server is :class:`~troth.errors.StoreDownError` (retryable), a refused
command :class:`~troth.errors.ConnectorError`; messages name the connection, never the URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from troth.connectors.keystore import KEY_BATCH, KEYSTORES, KeyValue
from troth.errors import ConnectorError, StoreDownError


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class RedisStore:
    """One Redis database (the URL's ``/<db>``)."""

    def __init__(self, url: str, name: str) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the extra is not installed
            raise ConnectorError(
                "the redis client library is not installed",
                where=f"connection {name!r}",
                fix="pip install 'troth[redis]'",
            ) from exc
        self.name = name
        self._redis = redis
        # typed Any: redis-py types its commands as sync-or-async unions
        self.client: Any = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        redis = self._redis
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreDownError(
                f"Redis store {self.name!r} is unreachable ({type(exc).__name__})",
                where=f"connection {self.name!r}",
                fix="start the server or fix the connection URL, then run the request again",
            ) from None
        except redis.RedisError as exc:
            raise ConnectorError(
                f"Redis store {self.name!r} refused a command ({type(exc).__name__})",
                where=f"connection {self.name!r}",
                fix="check the server's permissions (ACL) for SCAN, TYPE, reads, UNLINK and HSET",
            ) from None

    def ping(self) -> None:
        with self._errors():
            self.client.ping()

    def scan(self, pattern: str) -> Iterator[list[bytes]]:
        with self._errors():
            cursor: int = 0
            while True:
                cursor, keys = self.client.scan(cursor=cursor, match=pattern, count=KEY_BATCH)
                if keys:
                    yield list(keys)
                if cursor == 0:
                    return

    def read(self, keys: Sequence[bytes]) -> list[KeyValue]:
        out: list[KeyValue] = []
        with self._errors():
            for start in range(0, len(keys), KEY_BATCH):
                part = keys[start : start + KEY_BATCH]
                pipe = self.client.pipeline(transaction=False)
                for k in part:
                    pipe.type(k)
                types = [_text(t) for t in pipe.execute()]
                pipe = self.client.pipeline(transaction=False)
                present = [(k, t) for k, t in zip(part, types, strict=True) if t != "none"]
                for k, t in present:
                    _read_command(pipe, k, t)
                for (k, t), value in zip(present, pipe.execute(), strict=True):
                    out.append(KeyValue(_text(k), t, _value(t, value)))
        return out

    def delete(self, keys: Sequence[bytes]) -> int:
        n = 0
        with self._errors():
            for start in range(0, len(keys), KEY_BATCH):
                n += int(self.client.unlink(*keys[start : start + KEY_BATCH]))
        return n

    def hash_fields(self, keys: Sequence[bytes], fields: Sequence[str]) -> list[list[bytes | None]]:
        out: list[list[bytes | None]] = []
        with self._errors():
            for start in range(0, len(keys), KEY_BATCH):
                pipe = self.client.pipeline(transaction=False)
                for k in keys[start : start + KEY_BATCH]:
                    pipe.hmget(k, list(fields))
                out += [list(v) for v in pipe.execute()]
        return out

    def set_hash_fields(self, changes: Mapping[bytes, Mapping[str, bytes | None]]) -> int:
        n = 0
        items = list(changes.items())
        with self._errors():
            for start in range(0, len(items), KEY_BATCH):
                pipe = self.client.pipeline(transaction=True)
                for key, fields in items[start : start + KEY_BATCH]:
                    removed = [f for f, v in fields.items() if v is None]
                    kept = {f: v for f, v in fields.items() if v is not None}
                    if removed:
                        pipe.hdel(key, *removed)
                    if kept:
                        pipe.hset(key, mapping=kept)
                    n += len(fields)
                pipe.execute()
        return n

    def close(self) -> None:
        self.client.close()


def _read_command(pipe: Any, key: bytes, kind: str) -> None:
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    elif kind == "zset":
        pipe.zrange(key, 0, -1, withscores=True)
    else:  # streams and module types: named, not read
        pipe.type(key)


def _value(kind: str, value: Any) -> Any:
    if kind == "hash":
        return {_text(k): _text(v) for k, v in sorted(value.items())}
    if kind == "set":
        return sorted(_text(v) for v in value)
    if kind == "zset":
        return [[_text(m), s] for m, s in value]
    if kind == "list":
        return [_text(v) for v in value]
    if kind == "string":
        return _text(value)
    return f"({kind}: not read)"


@KEYSTORES.register("redis")
def _redis(url: str, name: str) -> RedisStore:
    return RedisStore(url, name)


KEYSTORES.add("rediss", _redis)

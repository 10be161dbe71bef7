"""Redis key store: keys found by pattern with the identity (SCAN, never KEYS), access, erasure
(delete or mask hash fields), dry run; proven by hashing every key before and after."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
import yaml

from troth.connectors.keystore import glob_escape, open_keystore
from troth.datamap.demo import create_demo_db
from troth.datamap.model import DataMap
from troth.dsr import Identity, access, erase
from troth.dsr.keystores import plan_keys
from troth.errors import StoreDownError, UnknownPluginError

PLUS = Path(__file__).resolve().parents[2] / "examples" / "plus"
KEYSTORE = {
    "name": "cache",
    "connection": "plus_cache",
    "subject": "customer",
    "keys": [
        {"name": "sessions", "pattern": "session:{email}:*",
         "categories": ["user.device.ip_address"]},
        {"name": "rate_limits", "pattern": "ratelimit:{email}"},
        {"name": "profiles", "pattern": "profile:{email}", "erase": "mask",
         "fields": [
             {"name": "name", "categories": ["user.name"], "mask": "redact"},
             {"name": "ip", "categories": ["user.device.ip_address"], "mask": None},
             {"name": "phone", "categories": ["user.contact.phone_number"], "mask": "hash"},
         ]},
    ],
}  # fmt: skip


@pytest.fixture
def project(
    tmp_path: Path, troth_env: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[str]]:
    """The Plus example with a Redis key store beside its SQL store; two people's e-mails."""
    folder = tmp_path / "plus"
    folder.mkdir()
    shutil.copy(PLUS / "policy.yaml", folder / "policy.yaml")
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["keystores"] = [KEYSTORE]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    create_demo_db(data_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    monkeypatch.setenv("TROTH_CONN_PLUS_CACHE", redis_url)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        emails = [r[0] for r in c.exec_driver_sql("SELECT email FROM accounts ORDER BY id LIMIT 2")]
    engine.dispose()
    client = redis.Redis.from_url(redis_url)
    for n, email in enumerate(emails):
        client.set(f"session:{email}:s1", json.dumps({"ip": f"192.0.2.{n}"}))
        client.set(f"session:{email}:s2", "x")
        client.set(f"ratelimit:{email}", 5)
        client.hset(f"profile:{email}", mapping={"name": f"Person {n}", "ip": "192.0.2.9",
                                                 "phone": "+1 555 0100", "plan": "pro"})  # fmt: skip
    client.set("session:someone-else@example.com:s1", "y")
    client.rpush("queue:jobs", "a", "b")
    client.close()
    return folder, emails


def snapshot(url: str) -> dict[bytes, str]:
    """SHA-256 of every key's serialised value (DUMP), by key."""
    client = redis.Redis.from_url(url)
    out = {k: hashlib.sha256(client.dump(k) or b"").hexdigest() for k in client.scan_iter()}
    client.close()
    return out


def test_access_returns_the_persons_keys_only(
    project: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, (ada, bob) = project
    monkeypatch.setattr(redis.Redis, "keys", _no_keys)
    result = access(folder, [Identity("email", ada.upper())])
    assert result.export is not None
    counts = {t["table"]: t["rows"] for t in result.tables}
    assert counts["cache.sessions"] == 2
    assert counts["cache.rate_limits"] == 1
    assert counts["cache.profiles"] == 1
    with zipfile.ZipFile(result.export) as zf:
        sessions = json.loads(zf.read("json/cache.sessions.json"))
        profiles = json.loads(zf.read("json/cache.profiles.json"))
    assert sorted(r["key"] for r in sessions) == [f"session:{ada}:s1", f"session:{ada}:s2"]
    assert profiles[0]["value"]["name"] == "Person 0"
    assert profiles[0]["type"] == "hash"
    assert bob not in json.dumps(sessions + profiles)


def test_erasure_changes_only_the_persons_keys_and_runs_once(
    project: tuple[Path, list[str]], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, (ada, _bob) = project
    monkeypatch.setattr(redis.Redis, "keys", _no_keys)
    before = snapshot(redis_url)
    dry = erase(folder, [Identity("email", ada)], dry_run=True)
    assert snapshot(redis_url) == before  # a dry run writes nothing
    dry_counts = {t["table"]: t["rows"] for t in dry.tables if t["table"].startswith("cache.")}
    assert dry_counts == {"cache.sessions": 2, "cache.rate_limits": 1, "cache.profiles": 1}

    first = erase(folder, [Identity("email", ada)])
    assert first.ok, first.error
    after = snapshot(redis_url)
    mine = {f"session:{ada}:s1", f"session:{ada}:s2", f"ratelimit:{ada}", f"profile:{ada}"}
    changed = {k.decode() for k in before if before[k] != after.get(k)}
    assert changed == mine  # every other key hashes the same
    assert set(after) == set(before) - {k.encode() for k in mine - {f"profile:{ada}"}}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    profile = client.hgetall(f"profile:{ada}")
    client.close()
    assert profile["name"] == "[redacted]"
    assert "ip" not in profile
    assert len(profile["phone"]) == 64
    assert profile["plan"] == "pro"
    counts = {t["table"]: t for t in first.tables}
    assert counts["cache.profiles"]["fields"] == 3

    second = erase(folder, [Identity("email", ada)])
    assert second.ok
    assert snapshot(redis_url) == after  # a second run is a no-op
    assert all(t["rows"] == 0 for t in second.tables if t["table"].startswith("cache."))


def test_redis_down_fails_before_any_write(
    project: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder, (ada, _bob) = project
    monkeypatch.setenv("TROTH_CONN_PLUS_CACHE", "redis://127.0.0.1:1/0")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'plus.db'}")
    with engine.connect() as c:
        rows_before = c.exec_driver_sql("SELECT * FROM accounts ORDER BY id").all()
    result = erase(folder, [Identity("email", ada)])
    assert isinstance(result.error, StoreDownError)
    assert "plus_cache" in result.error.one_line()
    assert "127.0.0.1:1" not in result.error.one_line()
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT * FROM accounts ORDER BY id").all() == rows_before
    engine.dispose()


def test_patterns_escape_the_identity(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("session:a*b@example.com:1", "x")
    client.set("session:aXb@example.com:1", "y")
    client.close()
    datamap = DataMap.model_validate({"keystores": [KEYSTORE]})
    [step, *_] = plan_keys(datamap, [Identity("email", "A*B@example.com")])
    assert step.globs == ("session:a\\*b@example.com:*",)
    store = open_keystore("cache", {"TROTH_CONN_CACHE": redis_url})
    try:
        found = [k for batch in store.scan(step.globs[0]) for k in batch]
    finally:
        store.close()
    assert found == [b"session:a*b@example.com:1"]
    assert glob_escape("[x]?\\") == "\\[x\\]\\?\\\\"


def test_unknown_scheme_and_invalid_patterns() -> None:
    with pytest.raises(UnknownPluginError, match="redis, rediss"):
        open_keystore("cache", {"TROTH_CONN_CACHE": "memcached://127.0.0.1:11211"})
    bad: list[dict[str, Any]] = [
        {"name": "k", "pattern": "session:*"},  # no identity placeholder
        {"name": "k", "pattern": "p:{email}", "erase": "mask"},  # mask without fields
        {
            "name": "k",
            "pattern": "p:{email}",
            "erase": "mask",
            "fields": [{"name": "n", "mask": "fake"}],
        },
    ]
    for key in bad:
        with pytest.raises(ValueError, match=r"placeholder|fields|not fake"):
            DataMap.model_validate({"keystores": [{"name": "c", "connection": "c", "keys": [key]}]})


def _no_keys(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("KEYS must never be sent (it blocks the server): use SCAN")

"""Appending to and verifying the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re

import pytest

from troth.audit import (
    GENESIS,
    Event,
    Head,
    Ledger,
    canonical_json,
    export,
    keyed_hash,
    parse_anchor,
    verify,
    verify_file,
)
from troth.errors import AuditError, LedgerTamperedError
from troth.store import open_store


def test_append_chains_entries_and_verify_passes(state_url: str) -> None:
    engine = open_store(state_url)
    ledger = Ledger(engine)
    first = ledger.append("policy.version", {"version": 1, "sha256": "ab" * 32}, actor="cli")
    more = ledger.append_many(
        [Event("consent.given", {"purpose": "marketing"}, "api-key:abc", "h:" + "cd" * 32)]
        + [
            ("dsr.transition", {"request_id": f"r{i}", "to": "done"}, "worker", None)
            for i in range(3)
        ]
    )
    assert first.seq == 1
    assert first.prev == GENESIS
    assert [e.seq for e in more] == [2, 3, 4, 5]
    assert [e.prev for e in more] == [first.hash] + [e.hash for e in more[:-1]]
    assert ledger.head() == Head(5, more[-1].hash)
    result = verify(engine)
    assert result.ok
    assert result.checked == 5
    assert result.last == Head(5, more[-1].hash)
    assert result.line() == (
        f"ok: 5 entries, chain intact, head 5:{more[-1].hash}; anchor at entry 5 matches"
    )
    assert [e.seq for e in ledger.tail(2)] == [4, 5]
    engine.dispose()


def test_mac_is_the_documented_formula_over_the_whole_entry(
    sqlite_url: str, troth_env: object
) -> None:
    engine = open_store(sqlite_url)
    e = Ledger(engine).append(
        "retention.run", {"rows": 3, "table": "orders", "é": "ü"}, actor="cli"
    )
    assert e.data_json == '{"rows":3,"table":"orders","é":"ü"}' == canonical_json(e.data)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", e.ts)
    # docs/audit.md: HKDF-SHA256 of TROTH_SECRET_KEY, then HMAC-SHA256 of the canonical JSON
    secret = b"test-secret-key-0123456789abcdef"
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    key = hmac.new(prk, b"troth/audit-ledger/mac/v2\x01", hashlib.sha256).digest()
    whole = {"seq": 1, "ts": e.ts, "kind": "retention.run", "actor": "cli", "subject": None,
             "data": e.data_json, "prev": GENESIS, "ref": None, "v": 2}  # fmt: skip
    assert e.hash == hmac.new(key, canonical_json(whole).encode(), hashlib.sha256).hexdigest()
    assert e.hash != hashlib.sha256(canonical_json(whole).encode()).hexdigest()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT data FROM audit_entry").scalar_one() == e.data_json
    engine.dispose()


def test_append_many_is_all_or_nothing(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    ledger = Ledger(engine)
    with pytest.raises(AuditError):
        ledger.append_many(
            [
                ("consent.given", {"n": 1}, "cli", None),
                ("consent.given", {"email": "x"}, "cli", None),
            ]
        )
    assert ledger.head() == Head(0, GENESIS)
    assert ledger.append_many([]) == []
    engine.dispose()


@pytest.mark.parametrize(
    ("kind", "actor", "subject"),
    [("Policy", "cli", None), ("policy", "cli", None), ("a.b", "", None), ("a.b", "x|y", None),
     ("a.b", "cli", ""), ("a.b", "cli", "a|b")],
)  # fmt: skip
def test_malformed_kind_actor_subject_are_rejected(
    sqlite_url: str, kind: str, actor: str, subject: str | None
) -> None:
    ledger = Ledger(open_store(sqlite_url))
    with pytest.raises(AuditError):
        ledger.append(kind, {}, actor=actor, subject=subject)


def test_export_round_trips_and_verifies(state_url: str, tmp_path: object) -> None:
    engine = open_store(state_url)
    ledger = Ledger(engine)
    entries = ledger.append_many(
        [("consent.given", {"n": i, "f": 0.1}, "cli", None) for i in range(7)]
    )
    buf = io.StringIO()
    assert export(engine, buf) == 7
    lines = buf.getvalue().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 8))
    first = json.loads(lines[0])
    assert set(first) == {"seq", "ts", "kind", "actor", "subject", "data", "prev", "hash", "ref"}
    assert first["ref"] is None
    assert first["hash"] == entries[0].hash
    assert first["data"] == {"n": 0, "f": 0.1}
    assert verify_file(io.StringIO(buf.getvalue()), anchor=ledger.head()).ok
    engine.dispose()


def test_anchor_catches_a_rewritten_ledger(sqlite_url: str, tmp_path: object) -> None:
    engine = open_store(sqlite_url)
    ledger = Ledger(engine)
    ledger.append_many([("retention.run", {"rows": i}, "cli", None) for i in range(4)])
    published = ledger.head()
    # rewrite the whole ledger consistently (head row too), with the key: troth refuses to append
    # onto a ledger behind its anchor file ...
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_entry")
        conn.exec_driver_sql(f"UPDATE audit_head SET seq = 0, hash = '{GENESIS}'")
    with pytest.raises(AuditError, match="ends at entry 0 but its anchor records 4 entries"):
        ledger.append("retention.run", {"rows": 9}, actor="cli")
    # ... so the forger also removes the anchor file (host access): only the published one tells
    ledger.config.anchors.path.unlink()
    ledger.append_many([("retention.run", {"rows": 9}, "cli", None) for _ in range(6)])
    assert verify(engine).ok
    result = verify(engine, anchor=published)
    assert result.first_bad == 4
    assert "anchor" in (result.reason or "")
    with pytest.raises(LedgerTamperedError, match="entry 4: MAC differs from the published anchor"):
        result.raise_if_tampered()
    short = verify(engine, anchor=Head(9, published.hash))
    assert short.line().startswith(
        "entry 7: missing: the published anchor records entries up to 9, the ledger ends at 6"
    )


def test_parse_anchor() -> None:
    h = "AB" * 32
    assert parse_anchor(f"12:{h}") == Head(12, h.lower())
    for bad in ("12", "x:" + h, "12:abc", f"-1:{h}"):
        with pytest.raises(AuditError, match="is not SEQ:HASH"):
            parse_anchor(bad)


def test_keyed_hash_is_hmac_sha256_and_key_dependent() -> None:
    import hmac

    k = b"k" * 32
    assert (
        keyed_hash(k, "ada@example.com")
        == "h:" + hmac.new(k, b"ada@example.com", "sha256").hexdigest()
    )
    assert keyed_hash(k, "a") != keyed_hash(b"j" * 32, "a")


def test_a_malformed_export_line_is_reported_as_tampering(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    Ledger(engine).append_many([("consent.given", {"n": i}, "cli", None) for i in range(3)])
    buf = io.StringIO()
    export(engine, buf)
    lines = buf.getvalue().splitlines(keepends=True)
    lines[1] = lines[1][:40] + "\n"
    result = verify_file(io.StringIO("".join(lines)))
    assert result.line() == "entry 2: line 2 is not valid JSON (entry edited)"

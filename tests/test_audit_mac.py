"""The keyed MAC: a writer of the state DB without TROTH_SECRET_KEY cannot forge a chain, and the
MAC input (canonical JSON of the whole entry) is unambiguous."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from troth.audit import (
    GENESIS,
    Event,
    Ledger,
    canonical_json,
    entry_mac,
    key_id,
    ledger_key,
    legacy_entry_hash,
    mac_input,
    verify,
)
from troth.config import Settings
from troth.errors import AuditError
from troth.store import open_store

COLS = "seq, ts, kind, actor, subject, data, prev, hash, ref"


def _build(url: str, n: int = 6) -> sa.Engine:
    engine = open_store(url)
    subject = "h:" + "ab" * 32
    Ledger(engine).append_many(
        [Event("consent.given", {"event_id": f"e{i}", "n": i}, "api", subject) for i in range(n)]
    )
    return engine


def _rows(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.exec_driver_sql(f"SELECT {COLS} FROM audit_entry ORDER BY seq")
        ]


def _rewrite(engine: sa.Engine, start: int, digest: Any) -> None:
    """Rewrite entries from *start* on (content edited), re-chained with *digest*, head too."""
    rows = _rows(engine)
    prev = rows[start - 2][7] if start > 1 else GENESIS
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    with engine.begin() as conn:
        for seq, ts, kind, actor, subject, old, _prev, _hash, ref in rows[start - 1 :]:
            data = canonical_json({**json.loads(old), "n": 999})
            h = digest(seq, ts, kind, actor, subject, data, prev, ref)
            conn.exec_driver_sql(
                f"UPDATE audit_entry SET data = {mark}, prev = {mark}, hash = {mark} "
                f"WHERE seq = {mark}",
                (data, prev, h, seq),
            )
            prev = h
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {mark}, hash = {mark} WHERE id = 1", (rows[-1][0], prev)
        )


def _plain_sha(seq: int, ts: str, kind: str, actor: str, subject: str | None, data: str,
               prev: str, ref: str | None) -> str:  # fmt: skip
    """A forger without the key: SHA-256 of the very input troth MACs."""
    return hashlib.sha256(mac_input(seq, ts, kind, actor, subject, data, prev, ref)).hexdigest()


def _legacy(seq: int, ts: str, kind: str, actor: str, subject: str | None, data: str,
            prev: str, ref: str | None) -> str:  # fmt: skip
    return legacy_entry_hash(seq, ts, kind, actor, subject, data, prev)


@pytest.mark.parametrize("digest", [_plain_sha, _legacy], ids=["sha256-of-input", "troth-0.1"])
def test_chain_rewritten_with_a_fresh_plain_sha256_fails(state_url: str, digest: Any) -> None:
    engine = _build(state_url)
    _rewrite(engine, 1, digest)
    Ledger(engine).config.anchors.path.unlink()  # no anchor either: the MAC alone must tell
    result = verify(engine)
    assert not result.ok
    assert result.first_bad == 1
    assert "without the ledger key" in (result.reason or "")
    engine.dispose()


@pytest.mark.parametrize("start", [1, 3, 6])
def test_rewrite_from_entry_n_without_the_key_is_found_at_n(sqlite_url: str, start: int) -> None:
    engine = _build(sqlite_url)
    _rewrite(engine, start, _plain_sha)
    result = verify(engine, use_anchor_file=False)
    assert result.first_bad == start
    assert result.line().startswith(f"entry {start}: MAC mismatch")
    engine.dispose()


def test_another_secret_cannot_append_and_verify_names_the_key(
    sqlite_url: str, troth_env: Any
) -> None:
    engine = _build(sqlite_url, 2)
    other = replace(Settings.from_env(), secret_key=b"another-secret-0123456789")
    with pytest.raises(AuditError, match="chained with key id"):
        Ledger(engine, settings=other).append("policy.version", {"version": 2}, actor="cli")
    result = verify(engine, settings=other)
    assert not result.ok
    assert result.line().startswith("audit_head: the ledger is chained with key id")
    assert verify(engine).ok
    assert Ledger(engine).head().seq == 2


def test_the_ledger_key_is_distinct_from_the_secret_and_its_id_reveals_nothing() -> None:
    secret = b"test-secret-key-0123456789abcdef"
    key = ledger_key(secret)
    assert len(key) == 32
    assert key != secret
    assert key != ledger_key(secret + b"x")
    assert len(key_id(key)) == 16
    assert key_id(key) != key_id(ledger_key(secret + b"x"))


def test_text_cannot_move_across_fields() -> None:
    """troth 0.1 joined fields with '|': moving text across a boundary kept the hash."""
    a = (1, "2026-01-01|consent", "given", "cli", None, "{}", GENESIS)
    b = (1, "2026-01-01", "consent|given", "cli", None, "{}", GENESIS)
    assert legacy_entry_hash(*a) == legacy_entry_hash(*b)
    key = ledger_key(b"k" * 32)
    assert entry_mac(key, *a) != entry_mac(key, *b)
    c = (1, "t", "a.b", "cli", "h:1", '{"x":"|"}', GENESIS)
    d = (1, "t", "a.b", "cli", None, '{"x":"|"}', GENESIS)
    assert entry_mac(key, *c) != entry_mac(key, *d)


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
whole_entries = st.tuples(
    st.integers(0, 2**40),
    texts,
    texts,
    texts,
    st.none() | texts,
    st.dictionaries(texts, st.none() | st.integers() | texts, max_size=3).map(canonical_json)
    | texts,
    texts,
    st.none() | texts,
)


@given(whole_entries)
def test_mac_input_is_the_canonical_json_of_the_whole_entry(e: tuple[Any, ...]) -> None:
    names = ("seq", "ts", "kind", "actor", "subject", "data", "prev", "ref")
    whole = {**dict(zip(names, e, strict=True)), "v": 2}
    text = mac_input(*e)
    assert text == canonical_json(whole).encode()
    assert json.loads(text) == whole  # decodes back to the very entry: no two entries share it


@given(whole_entries, whole_entries)
def test_no_two_different_entries_share_a_mac_input(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    assert (mac_input(*a) == mac_input(*b)) == (a == b)


@given(whole_entries, st.integers(0, 7), texts)
def test_changing_any_one_field_changes_the_input(e: tuple[Any, ...], i: int, new: str) -> None:
    changed = list(e)
    changed[i] = len(new) if i == 0 else new
    if tuple(changed) != e:
        assert mac_input(*changed) != mac_input(*e)

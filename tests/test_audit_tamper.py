"""Verification catches every kind of tampering and names the first bad position.

Ledgers are generated with hypothesis, then tampered with in SQL (UPDATE/DELETE/INSERT on SQLite)
and in JSONL exports: edit a field, delete an entry (including the last), swap two entries, insert
a forged entry with a valid MAC, edit an entry and recompute its MAC. The forger here HAS the
ledger key (an insider on the host), so these tests exercise the chain's links, the head row and
the anchors; tests/test_audit_mac.py covers a forger without the key.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.audit import (
    GENESIS,
    Entry,
    Event,
    Head,
    Ledger,
    LedgerConfig,
    entry_mac,
    export,
    verify,
    verify_file,
)
from troth.store import open_store

KINDS = ["policy.version", "dsr.transition", "consent.given", "consent.withdrawn", "retention.run"]
DATA_KEYS = ["request_id", "purpose", "rows", "table", "version", "sha256", "state", "ratio"]
FIELDS = ["seq", "ts", "kind", "actor", "subject", "data", "prev", "hash", "ref"]
CONTENT = ["ts", "kind", "actor", "subject", "data"]

values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text("abcdef0123456789-_:", min_size=1, max_size=12),
)
events = st.builds(
    Event,
    kind=st.sampled_from(KINDS),
    data=st.dictionaries(st.sampled_from(DATA_KEYS), values, max_size=4),
    actor=st.sampled_from(["cli", "api-key:abc", "worker:1"]),
    subject=st.one_of(st.none(), st.sampled_from(["h:" + "ab" * 32, "req-42", "u_1"])),
)
batches = st.lists(st.lists(events, min_size=1, max_size=6), min_size=1, max_size=6)


@dataclass(frozen=True)
class Tamper:
    op: str  # edit | delete | swap | insert | rehash
    k: int  # 1-based position
    j: int = 0  # second position (swap)
    field: str = ""

    def expected(self) -> int:
        """The first bad position verify must report."""
        return self.k


@st.composite
def tampers(draw: st.DrawFn, n: int) -> Tamper:
    op = draw(st.sampled_from(["edit", "delete", "swap", "insert", "rehash"] if n > 1 else
                              ["edit", "delete", "insert", "rehash"]))  # fmt: skip
    k = draw(st.integers(1, n))
    if op == "swap":
        i, j = sorted(draw(st.lists(st.integers(1, n), min_size=2, max_size=2, unique=True)))
        return Tamper(op, i, j)
    if op == "edit":
        return Tamper(op, k, field=draw(st.sampled_from(FIELDS)))
    if op == "rehash":
        return Tamper(op, k, field=draw(st.sampled_from(CONTENT)))
    return Tamper(op, k)


def changed(field: str, value: Any) -> Any:
    """A different value for *field* (the same type where the column needs it)."""
    if field == "seq":
        return value + 1000
    if field in {"prev", "hash"}:
        return ("1" if value[0] == "0" else "0") + value[1:]
    if field == "subject":
        return "h:forged" if value is None else None
    if field == "ref":
        return "consent_event:forged" if value is None else None
    if field == "data":
        return {**value, "zz_forged": 1} if isinstance(value, dict) else '{"zz_forged":1}'
    return value + "x"


def key_of(engine: Any) -> bytes:
    return LedgerConfig.of(engine).key


def forged_entry(seq: int, prev: str, key: bytes) -> Entry:
    ts, data = "2020-01-01T00:00:00.000000+00:00", '{"forged":true}'
    digest = entry_mac(key, seq, ts, "consent.given", "cli", None, data, prev)
    return Entry(seq, ts, "consent.given", "cli", None, data, prev, digest)


def rehashed(e: Entry, field: str, key: bytes) -> Entry:
    fields = {f: getattr(e, f) for f in ("seq", "ts", "kind", "actor", "subject", "prev", "ref")}
    data_json = e.data_json
    if field == "data":
        data_json = json.dumps({**e.data, "zz_forged": 1}, sort_keys=True, separators=(",", ":"))
    else:
        fields[field] = changed(field, fields[field])
    digest = entry_mac(
        key, fields["seq"], fields["ts"], fields["kind"], fields["actor"], fields["subject"],
        data_json, fields["prev"], fields["ref"],
    )  # fmt: skip
    return Entry(**fields, data_json=data_json, hash=digest)


# --- building ledgers -------------------------------------------------------------------------


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[sa.Engine]:
    eng = open_store(sqlite_url)
    yield eng
    eng.dispose()


def fresh_ledger(engine: sa.Engine, batches: list[list[Event]]) -> list[Entry]:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_entry")
        conn.exec_driver_sql(f"UPDATE audit_head SET seq = 0, hash = '{GENESIS}'")
    ledger = Ledger(engine)
    ledger.config.anchors.path.unlink(missing_ok=True)  # a new ledger for each example
    for batch in batches:
        ledger.append_many(batch)
    entries = ledger.tail(10_000)
    assert verify(engine).ok
    return entries


# --- tampering in SQL -------------------------------------------------------------------------


def tamper_sql(engine: Any, entries: list[Entry], t: Tamper, key: bytes) -> None:
    e = entries[t.k - 1]
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        if t.op == "edit":
            value = changed(t.field, getattr(e, t.field if t.field != "data" else "data_json"))
            run(f"UPDATE audit_entry SET {t.field} = ? WHERE seq = ?", (value, e.seq))
        elif t.op == "delete":
            run("DELETE FROM audit_entry WHERE seq = ?", (e.seq,))
        elif t.op == "swap":
            a, b = entries[t.k - 1], entries[t.j - 1]
            cols = ", ".join(f"{c} = ?" for c in FIELDS[1:])
            for src, dst in ((b, a.seq), (a, b.seq)):
                row = (src.ts, src.kind, src.actor, src.subject, src.data_json, src.prev, src.hash,
                       src.ref)  # fmt: skip
                run(f"UPDATE audit_entry SET {cols} WHERE seq = ?", (*row, dst))
        elif t.op == "insert":  # make room at k, then insert a forged entry chained to k-1
            run("UPDATE audit_entry SET seq = -seq - 1 WHERE seq >= ?", (t.k,))
            run("UPDATE audit_entry SET seq = -seq WHERE seq < 0")
            f = forged_entry(t.k, entries[t.k - 2].hash if t.k > 1 else GENESIS, key)
            run(INSERT, tuple(vars_of(f)))
        elif t.op == "rehash":
            r = rehashed(e, t.field, key)
            cols = ", ".join(f"{c} = ?" for c in FIELDS[1:])
            run(f"UPDATE audit_entry SET {cols} WHERE seq = ?", (*vars_of(r)[1:], e.seq))


INSERT = f"INSERT INTO audit_entry ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"


def vars_of(e: Entry) -> list[Any]:
    return [e.seq, e.ts, e.kind, e.actor, e.subject, e.data_json, e.prev, e.hash, e.ref]


HYPO = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HYPO
@given(batches=batches, data=st.data())
def test_sql_tampering_is_caught_at_the_first_bad_entry(
    engine: sa.Engine, batches: list[list[Event]], data: st.DataObject
) -> None:
    entries = fresh_ledger(engine, batches)
    t = data.draw(tampers(len(entries)))
    tamper_sql(engine, entries, t, key_of(engine))
    result = verify(engine, use_anchor_file=False)  # the chain alone (anchors: test_audit_anchor)
    assert not result.ok, t
    assert result.first_bad == t.expected(), (t, result.line())
    assert result.line().startswith(f"entry {t.expected()}: ")


@HYPO
@given(batches=batches, data=st.data())
def test_forged_entry_appended_past_the_head_is_caught(
    engine: sa.Engine, batches: list[list[Event]], data: st.DataObject
) -> None:
    entries = fresh_ledger(engine, batches)
    f = forged_entry(len(entries) + 1, entries[-1].hash, key_of(engine))
    with engine.begin() as conn:
        conn.exec_driver_sql(INSERT, tuple(vars_of(f)))
    result = verify(engine)
    assert result.first_bad == len(entries) + 1
    assert "head" in (result.reason or "")
    # the anchor a user published earlier still matches: only the head catches this one
    assert verify(engine, anchor=Head(len(entries), entries[-1].hash)).first_bad == f.seq


# --- tampering in JSONL exports ---------------------------------------------------------------


def tamper_lines(lines: list[str], entries: list[Entry], t: Tamper, key: bytes) -> list[str]:
    objs = [json.loads(line) for line in lines]
    i = t.k - 1
    if t.op == "edit":
        objs[i][t.field] = changed(t.field, objs[i][t.field])
    elif t.op == "delete":
        del objs[i]
    elif t.op == "swap":
        objs[i], objs[t.j - 1] = objs[t.j - 1], objs[i]
    elif t.op == "insert":
        f = forged_entry(t.k, entries[t.k - 2].hash if t.k > 1 else GENESIS, key)
        for o in objs[i:]:
            o["seq"] += 1
        objs.insert(i, json.loads(f.to_json_line()))
    elif t.op == "rehash":
        objs[i] = json.loads(rehashed(entries[i], t.field, key).to_json_line())
    return [json.dumps(o) + "\n" for o in objs]


@HYPO
@given(batches=batches, data=st.data())
def test_jsonl_tampering_is_caught_at_the_first_bad_entry(
    engine: sa.Engine, batches: list[list[Event]], data: st.DataObject
) -> None:
    entries = fresh_ledger(engine, batches)
    buf = io.StringIO()
    assert export(engine, buf) == len(entries)
    lines = buf.getvalue().splitlines(keepends=True)
    anchor = Head(len(entries), entries[-1].hash)
    assert verify_file(io.StringIO("".join(lines)), anchor=anchor).ok
    t = data.draw(tampers(len(entries)))
    tampered = tamper_lines(lines, entries, t, key_of(engine))
    result = verify_file(io.StringIO("".join(tampered)), anchor=anchor)
    assert not result.ok, t
    assert result.first_bad == t.expected(), (t, result.line())


# --- named cases, on SQLite and PostgreSQL ----------------------------------------------------


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (Tamper("edit", 3, field="data"), "entry 3: MAC mismatch (entry edited"),
        (Tamper("delete", 3), "entry 3: expected seq 3, found 4"),
        (Tamper("delete", 5), "entry 5: missing: the head records 5 entries"),
        (Tamper("swap", 2, 4), "entry 2: MAC mismatch"),
        (Tamper("insert", 2), "entry 2: entry 3 links past it to entry 1 (forged entry inserted)"),
        (Tamper("rehash", 2, field="kind"), "entry 2: entry 3 does not link to it"),
        (Tamper("rehash", 5, field="data"), "entry 5: MAC differs from the head row"),
    ],
)
def test_each_tampering_named_on_each_engine(state_url: str, tamper: Tamper, reason: str) -> None:
    engine = open_store(state_url)
    ledger = Ledger(engine)
    entries = ledger.append_many([Event("retention.run", {"rows": i}, "cli") for i in range(5)])
    sql_engine = engine
    if engine.dialect.name == "postgresql":  # the helpers use qmark SQL; run them through SA text
        sql_engine = _QmarkAdapter.wrap(engine)
    tamper_sql(sql_engine, entries, tamper, key_of(engine))
    result = verify(engine, use_anchor_file=False)
    assert result.line().startswith(reason), result.line()
    engine.dispose()


class _QmarkAdapter:
    """Rewrites ``?`` placeholders to ``%s`` so the SQL tamper helpers also run on PostgreSQL."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    @classmethod
    def wrap(cls, engine: sa.Engine) -> Any:
        return cls(engine)

    def begin(self) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def cm() -> Iterator[Any]:
            with self._engine.begin() as conn:
                yield _QmarkConn(conn)

        return cm()


class _QmarkConn:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def exec_driver_sql(self, sql: str, params: Any = None) -> Any:
        return self._conn.exec_driver_sql(sql.replace("?", "%s"), params)

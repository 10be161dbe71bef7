"""The head anchored outside the state DB: every kind of rollback a DB writer can do is found by
``troth audit verify`` through the anchor file, appends refuse to build on it, and the sink gets a
copy of each anchor."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from troth.audit import GENESIS, Event, Head, Ledger, LedgerConfig, entry_mac, verify
from troth.audit.anchor import AnchorFile, database_id, new_anchor
from troth.cli import main
from troth.config import Settings
from troth.errors import AuditError
from troth.store import open_store

N = 8


@pytest.fixture
def engine(state_url: str) -> Iterator[sa.Engine]:
    eng = open_store(state_url)
    ledger = Ledger(eng)
    for i in range(0, N, 2):  # four batches, four anchors
        ledger.append_many([Event("retention.run", {"rows": i + j}, "cli") for j in range(2)])
    yield eng
    eng.dispose()


def _sql(engine: sa.Engine, sql: str, *params: Any) -> None:
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    with engine.begin() as conn:
        conn.exec_driver_sql(sql.replace("?", mark), params or None)


def _hash(engine: sa.Engine, seq: int) -> str:
    with engine.connect() as conn:
        h = conn.exec_driver_sql(f"SELECT hash FROM audit_entry WHERE seq = {seq}").scalar()
    return str(h)


def test_every_append_batch_moves_the_anchor(engine: sa.Engine) -> None:
    cfg = LedgerConfig.of(engine)
    anchor, problem = cfg.anchors.read(cfg.db)
    assert problem is None
    assert anchor is not None
    assert (anchor.seq, anchor.hash) == (N, _hash(engine, N))
    result = verify(engine)
    assert result.ok
    assert result.anchored == N
    assert result.line().endswith(f"anchor at entry {N} matches")
    raw = json.loads(cfg.anchors.path.read_text())
    assert raw["format"] == "troth-ledger-anchor/1"
    assert list(raw["ledgers"]) == [database_id(engine.url)]
    assert "@" not in database_id(engine.url)  # no user, no password


def test_rewritten_from_entry_n_with_the_key_is_found_by_the_anchor(engine: sa.Engine) -> None:
    # an insider with the key rewrites entries 3.. and the head consistently
    key, start = LedgerConfig.of(engine).key, 3
    prev = _hash(engine, start - 1)
    for seq in range(start, N + 1):
        ts, data = "2020-01-01T00:00:00.000000+00:00", '{"rows":0}'
        mac = entry_mac(key, seq, ts, "retention.run", "cli", None, data, prev)
        _sql(engine, "UPDATE audit_entry SET ts = ?, data = ?, prev = ?, hash = ? WHERE seq = ?",
             ts, data, prev, mac, seq)  # fmt: skip
        prev = mac
    _sql(engine, "UPDATE audit_head SET hash = ? WHERE id = 1", prev)
    assert verify(engine, use_anchor_file=False).ok  # the chain and head alone agree
    result = verify(engine)
    assert result.first_bad == N
    assert "MAC differs from the anchor in" in result.line()
    assert "ledger rewritten" in result.line()
    with pytest.raises(AuditError, match=f"entry {N} does not match its anchor"):
        Ledger(engine).append("policy.version", {"version": 9}, actor="cli")


def test_truncated_and_head_moved_back_is_found(engine: sa.Engine) -> None:
    _sql(engine, "DELETE FROM audit_entry WHERE seq > 5")
    _sql(engine, "UPDATE audit_head SET seq = 5, hash = ? WHERE id = 1", _hash(engine, 5))
    assert verify(engine, use_anchor_file=False).ok
    result = verify(engine)
    assert result.first_bad == 6
    assert result.line().startswith(
        f"entry 6: missing: the anchor in {LedgerConfig.of(engine).anchors.path} records entries "
        f"up to {N}, the ledger ends at 5"
    )
    with pytest.raises(AuditError, match=f"ends at entry 5 but its anchor records {N} entries"):
        Ledger(engine).append("policy.version", {"version": 9}, actor="cli")
    assert Ledger(engine).head().seq == 5  # the refused append wrote nothing


def test_emptied_ledger_is_found(engine: sa.Engine) -> None:
    _sql(engine, "DELETE FROM audit_entry")
    _sql(engine, f"UPDATE audit_head SET seq = 0, hash = '{GENESIS}' WHERE id = 1")
    result = verify(engine)
    assert result.first_bad == 1
    assert f"records entries up to {N}, the ledger is empty (emptied)" in result.line()


def test_deleted_head_row_is_a_finding_naming_the_last_verified_entry(
    engine: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(engine, "DELETE FROM audit_head")
    result = verify(engine)
    assert not result.ok
    assert result.checked == N
    assert result.line() == (
        f"audit_head: the head row is missing (deleted); last verified entry: {N}"
    )
    url = engine.url.render_as_string(hide_password=False)
    assert main(["audit", "verify", "--db", url]) == 1  # a tamper finding, not exit 2
    err = capsys.readouterr().err
    assert f"last verified entry: {N}" in err
    assert main(["audit", "verify", "--db", url, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert out["last_verified"] == N
    # deleted head row AND truncated: the anchor names the first missing entry
    _sql(engine, "DELETE FROM audit_entry WHERE seq > 3")
    assert verify(engine).first_bad == 4


def test_an_edited_anchor_record_is_found(engine: sa.Engine) -> None:
    path = LedgerConfig.of(engine).anchors.path
    raw = json.loads(path.read_text())
    record = raw["ledgers"][database_id(engine.url)]
    record["seq"] = 3
    record["hash"] = _hash(engine, 3)
    path.write_text(json.dumps(raw))
    result = verify(engine)
    assert not result.ok
    assert "fails its MAC" in result.line()
    with pytest.raises(AuditError, match="fails its MAC"):
        Ledger(engine).append("policy.version", {"version": 9}, actor="cli")


def test_the_anchor_only_moves_forward(tmp_path: Path) -> None:
    f = AnchorFile(tmp_path / "ledger-anchor", b"k" * 32)
    with f.locked():
        assert f.advance(new_anchor("sqlite:///x", 5, "a" * 64, "kid"))
        assert not f.advance(new_anchor("sqlite:///x", 4, "b" * 64, "kid"))
        assert f.advance(new_anchor("sqlite:///y", 1, "c" * 64, "kid"))
    a, problem = f.read("sqlite:///x")
    assert problem is None
    assert a is not None
    assert (a.seq, a.hash) == (5, "a" * 64)
    assert not list(tmp_path.glob(".ledger-anchor.*.tmp"))  # the temp file was renamed


def test_restore_from_a_backup_then_reset_the_anchor(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_store(sqlite_url)
    ledger = Ledger(engine)
    ledger.append_many([Event("retention.run", {"rows": i}, "cli") for i in range(3)])
    engine.dispose()
    db = Path(sqlite_url.removeprefix("sqlite:///"))
    shutil.copy(db, tmp_path / "backup.db")
    engine = open_store(sqlite_url)
    Ledger(engine).append("retention.run", {"rows": 9}, actor="cli")
    engine.dispose()
    shutil.copy(tmp_path / "backup.db", db)  # the operator restores last night's backup
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = open_store(sqlite_url)
    assert verify(engine).first_bad == 4
    with pytest.raises(AuditError, match="troth audit anchor --reset"):
        Ledger(engine).append("retention.run", {"rows": 10}, actor="cli")
    assert main(["audit", "anchor", "--db", sqlite_url, "--reset"]) == 0
    assert verify(engine).ok
    assert Ledger(engine).append("retention.run", {"rows": 10}, actor="cli").seq == 4
    assert verify(engine).ok


def test_reset_refuses_a_ledger_that_does_not_verify(engine: sa.Engine) -> None:
    from troth.audit.upkeep import reset_anchor
    from troth.errors import LedgerTamperedError

    _sql(engine, "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(LedgerTamperedError, match="entry 2: MAC mismatch"):
        reset_anchor(engine)


def test_file_sink_gets_one_line_per_append_batch(
    sqlite_url: str, tmp_path: Path, troth_env: Path
) -> None:
    sink = tmp_path / "anchors.jsonl"
    settings = replace(Settings.from_env(), database_url=sqlite_url, ledger_sink=str(sink))
    engine = open_store(settings)
    ledger = Ledger(engine)
    ledger.append_many([Event("retention.run", {"rows": i}, "cli") for i in range(3)])
    ledger.append("retention.run", {"rows": 3}, actor="cli")
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [r["seq"] for r in lines] == [3, 4]
    assert lines[-1]["hash"] == ledger.head().hash
    assert {"db", "seq", "hash", "key_id", "ts", "mac"} == set(lines[-1])
    # a copy of the sink verifies a ledger whose local anchor file was deleted with it
    settings.ledger_anchor.unlink()
    last = Head(lines[-1]["seq"], lines[-1]["hash"])
    _sql(engine, "DELETE FROM audit_entry WHERE seq = 4")
    _sql(engine, "UPDATE audit_head SET seq = 3, hash = ? WHERE id = 1", _hash(engine, 3))
    assert verify(engine, anchor=last).first_bad == 4


def test_webhook_sink_gets_each_anchor_and_a_failing_one_does_not_fail_appends(
    sqlite_url: str, troth_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/anchors?token=s3cret"
        settings = replace(Settings.from_env(), database_url=sqlite_url, ledger_sink=url)
        ledger = Ledger(open_store(settings))
        ledger.append("retention.run", {"rows": 1}, actor="cli")
        ledger.append("retention.run", {"rows": 2}, actor="cli")
        assert [r["seq"] for r in got] == [1, 2]
    finally:
        server.shutdown()
        server.server_close()
    down = replace(settings, ledger_sink=f"http://127.0.0.1:{server.server_port}/x?token=s3cret")
    assert Ledger(open_store(down)).append("retention.run", {"rows": 3}, actor="cli").seq == 3
    assert "ledger anchor sink http://127.0.0.1 failed" in caplog.text
    assert "s3cret" not in caplog.text


def test_anchor_command_shows_the_anchor(
    engine: sa.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    assert main(["audit", "anchor", "--db", url]) == 0
    assert capsys.readouterr().out.startswith(f"{N}:{_hash(engine, N)}")


def test_an_unwritable_anchor_refuses_before_any_write(
    sqlite_url: str, tmp_path: Path, troth_env: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = replace(
        Settings.from_env(), database_url=sqlite_url, anchor_file=blocker / "ledger-anchor"
    )
    engine = open_store(settings)
    with pytest.raises(AuditError, match="cannot open the ledger anchor lock"):
        Ledger(engine).append("retention.run", {"rows": 1}, actor="cli")
    assert Ledger(engine).head().seq == 0

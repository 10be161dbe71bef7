"""``troth audit verify|export|head|tail``: exit codes, one-line output, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.audit import Ledger, verify_file
from troth.cli import main
from troth.store import open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ledger_url(sqlite_url: str) -> str:
    engine = open_store(sqlite_url)
    Ledger(engine).append_many(
        [("retention.run", {"table": "orders", "rows": i}, "cli", None) for i in range(5)]
    )
    engine.dispose()
    return sqlite_url


def _tamper(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def test_verify_ok_prints_one_line_and_exits_0(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--db", ledger_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 5 entries, chain intact, head 5:")
    assert out.count("\n") == 1


def test_verify_tampered_exits_1_naming_the_first_bad_entry(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(ledger_url, "UPDATE audit_entry SET data = '{\"rows\":99}' WHERE seq = 3")
    assert main(["audit", "verify", "--db", ledger_url]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "entry 3: MAC mismatch (entry edited" in lines[0]
    assert main(["audit", "verify", "--db", ledger_url, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert result["first_bad"] == 3


def test_head_prints_an_anchor_that_verify_accepts(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "head", "--db", ledger_url]) == 0
    anchor = capsys.readouterr().out.strip()
    assert anchor.startswith("5:")
    assert len(anchor) == 66
    assert main(["audit", "verify", "--db", ledger_url, "--anchor", anchor]) == 0
    _tamper(ledger_url, "DELETE FROM audit_entry WHERE seq = 5")
    _tamper(
        ledger_url,
        "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_entry WHERE seq = 4)",
    )
    capsys.readouterr()
    # consistent without an anchor; the anchor file in TROTH_HOME catches it by default
    assert main(["audit", "verify", "--db", ledger_url, "--no-anchor-file"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--db", ledger_url]) == 1
    assert "entry 5: missing: the anchor in " in capsys.readouterr().err
    args = ["audit", "verify", "--db", ledger_url, "--no-anchor-file", "--anchor", anchor]
    assert main(args) == 1
    assert "entry 5: missing: the published anchor records entries up to 5" in (
        capsys.readouterr().err
    )


def test_export_round_trips_through_verify_file(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ledger.jsonl"
    assert main(["audit", "export", "--db", ledger_url, "-o", str(out)]) == 0
    assert main(["audit", "export", "--db", ledger_url]) == 0
    stdout = capsys.readouterr().out
    assert stdout == out.read_text(encoding="utf-8")
    assert [json.loads(line)["seq"] for line in stdout.splitlines()] == [1, 2, 3, 4, 5]
    assert verify_file(out).ok
    assert main(["audit", "verify", "--file", str(out)]) == 0
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:1] + lines[2:]))
    capsys.readouterr()
    assert main(["audit", "verify", "--file", str(out)]) == 1
    assert "entry 2: expected seq 2, found 3" in capsys.readouterr().err


def test_tail_shows_the_last_entries(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "tail", "--db", ledger_url, "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "retention.run" in out
    assert '"rows":4' in out
    assert '"rows":2' not in out


def test_db_defaults_to_settings_and_upgrades_on_first_use(
    troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "head"]) == 0
    assert capsys.readouterr().out.strip() == "0:" + "0" * 64
    assert (troth_env / "troth.db").exists()


@pytest.mark.parametrize(
    ("url", "code", "text"),
    [
        ("postgresql+psycopg://u:pw@127.0.0.1:1/x", 3, "cannot connect to the state database"),
        ("not a url", 3, "the database URL cannot be parsed"),
    ],
)
def test_bad_db_url_is_one_line_without_traceback(
    url: str, code: int, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--db", url]) == code
    err = capsys.readouterr().err
    assert text in err
    assert "Traceback" not in err
    assert ":pw@" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_anchor_and_missing_file_are_one_line_errors(
    ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--db", ledger_url, "--anchor", "oops"]) == 2
    assert "is not SEQ:HASH" in capsys.readouterr().err
    assert main(["audit", "verify", "--file", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read the export" in capsys.readouterr().err


def test_console_script_in_a_subprocess(ledger_url: str) -> None:
    exe = shutil.which("troth", path=str(Path(sys.executable).parent)) or "troth"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    ok = subprocess.run(
        [exe, "audit", "verify", "--db", ledger_url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: 5 entries")
    _tamper(ledger_url, "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2")
    bad = subprocess.run(
        [exe, "audit", "verify", "--db", ledger_url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert "entry 2: MAC mismatch (entry edited" in bad.stderr
    assert "Traceback" not in bad.stderr

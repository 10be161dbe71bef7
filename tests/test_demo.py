"""`troth demo`: both examples checked and rendered, every step in a verified ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.audit import verify
from troth.cli import main
from troth.config import Settings
from troth.demo import DEMO_PERSON, find_examples, run_demo
from troth.errors import ConfigError
from troth.store import open_store

ROOT = Path(__file__).parent.parent


def test_demo_checks_renders_and_records(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "out")
    names = [e.name for e in result.examples]
    assert names == ["mydigisoft", "plus"]
    by = {e.name: e for e in result.examples}
    assert by["mydigisoft"].promises == 14
    assert by["plus"].promises == 15
    assert by["plus"].errors > 0  # the seed's real gaps, data map included
    for ex in result.examples:
        for filename in ("policy.md", "policy.html", "record.csv", "record.html"):
            assert (tmp_path / "out" / ex.name / filename).stat().st_size > 0
        text = (tmp_path / "out" / ex.name / "policy.md").read_text()
        prefix = "MD" if ex.name == "mydigisoft" else "PL"
        for i in range(1, ex.promises + 1):
            assert f"{prefix}-{i}" in text
    assert result.verified.ok
    # the demo keeps its secret key (so its ledger key) and its anchor in its own TROTH_HOME
    engine = open_store(Settings.from_env({"TROTH_HOME": str(tmp_path / "out")}))
    with engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(sa.text("SELECT kind FROM audit_entry ORDER BY seq"))]
        data = [json.loads(r[0]) for r in conn.execute(sa.text("SELECT data FROM audit_entry"))]
    assert kinds[:3] == ["policy.version", "policy.check", "policy.render"]
    assert {"policy", "files"} <= set(data[2])
    assert any(k.startswith("dsr.") for k in kinds)  # the demo request's transitions
    assert verify(engine).ok
    # one person's data exported and erased from each demo store, never named in the ledger
    for ex in result.examples:
        assert ex.access_rows > 0
        assert ex.erased_rows > 0
    # the sweeps under the examples' assumed periods have figures: MyDigiSoft deletes expired
    # support tickets and keeps invoices for the tax law; Plus keeps what its holds keep
    assert by["mydigisoft"].swept["deleted"] > 0
    assert by["mydigisoft"].swept["held"] > 0
    assert by["plus"].swept["held"] > 0
    assert any(k.startswith("retention.") for k in kinds)  # the sweeps' evidence
    for ex in result.examples:
        assert ex.export is not None
        assert ex.export.stat().st_size > 0
    with engine.connect() as conn:
        ledger_text = repr(conn.execute(sa.text("SELECT * FROM audit_entry")).all())
    for person in DEMO_PERSON.values():
        assert person not in ledger_text


def test_demo_twice_extends_one_valid_chain(tmp_path: Path) -> None:
    first = run_demo(tmp_path)
    second = run_demo(tmp_path)
    assert second.verified.ok
    assert second.verified.checked == 2 * first.verified.checked
    assert [e.access_rows for e in second.examples] == [e.access_rows for e in first.examples]


def test_demo_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "mydigisoft" in out
    assert "chain intact" in out
    assert "retention sweep of the mydigisoft store" in out


def test_examples_found_from_another_folder(tmp_path: Path) -> None:
    assert find_examples(tmp_path) == ROOT / "examples"


def test_missing_examples_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        find_examples(tmp_path, extra=())
    assert "example policies were not found" in str(err.value)
    assert "fix:" in str(err.value)


def test_console_script_demo(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "troth", "demo", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "chain intact" in proc.stdout

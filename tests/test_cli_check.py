"""`troth check` as a user and CI see it: output, JSON, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from troth.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "policy_clean.yaml"


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = FIXTURE.read_text()
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_clean_policy_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "0 errors, 0 warnings, 0 notes" in out


def test_errors_exit_one_and_print_location_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with(tmp_path, "legal_request_required: true", "legal_request_required: false")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "recipient.authority-no-legal-request" in out
    assert f"{path}:" in out
    assert "fix: set `legal_request_required: true`" in out


def test_warnings_fail_only_with_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _with(tmp_path, "  address: 1 Example Street, Exampletown\n", "")
    assert main(["check", str(path)]) == 0
    assert main(["check", str(path), "--strict"]) == 1
    assert "org.no-address" in capsys.readouterr().out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _with(
        tmp_path, "    channel: preferences\n", "    channel: preferences\n    default: true\n"
    )
    assert main(["check", str(path), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["error"] == 1
    [finding] = [f for f in data["findings"] if f["check"] == "consent.default-on"]
    assert finding["severity"] == "error"
    assert finding["field"] == "consents[0].default"
    assert finding["where"].startswith(str(path))
    assert finding["promises"] == ["EX-3"]


def test_load_error_is_one_line_per_problem_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with(tmp_path, "legal_basis: contract", "legal_basis: contrat")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "did you mean 'contract'" in lines[0]


def test_messages_with_brackets_are_not_eaten_by_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with(tmp_path, "email: dpo@shop.example.com", "email: '[email protected]'")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "organisation.dpo[0]" in out or "[email protected]" in out
    assert "org.contact-invalid" in out


def test_unknown_check_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURE), "--select", "org.no-dp"]) == 2
    err = capsys.readouterr().err
    assert "unknown check 'org.no-dp'" in err
    assert "did you mean 'org.no-dpo'" in err


def test_checks_lists_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    for check_id in ("purpose.no-legal-basis", "marketing.no-consent", "restricted.stored"):
        assert check_id in out


def test_console_script_missing_file_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "troth", "check", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")},
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "file not found" in proc.stderr
    assert "fix: check the path" in proc.stderr


def test_usage_error_is_reported_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURE), "--bogus"]) == 2
    err = capsys.readouterr().err
    assert "No such option: --bogus" in err
    assert "internal error" not in err


def test_cli_import_does_not_load_sqlalchemy() -> None:
    """Commands that need no database start fast: the DSR, retention, audit and datamap command
    modules import SQLAlchemy (state DB, connectors, masking) inside their commands."""
    code = (
        "import sys, troth.cli\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'troth.store', 'troth.audit',"
        " 'troth.dsr.api', 'troth.retention.sweep') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr

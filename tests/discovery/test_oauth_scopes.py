"""`troth check --oauth-scopes FILE`: the scopes an app requests against the policy's restricted
sources (MyDigiSoft declares Gmail, Contacts and Calendar under Limited Use, MD-11..13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from troth.cli import main
from troth.policy.oauth_scopes import covers, read_scopes

MYDIGISOFT = Path(__file__).resolve().parents[2] / "examples" / "mydigisoft"


def _check(tmp_path: Path, scopes: object, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    f = tmp_path / "scopes.json"
    f.write_text(json.dumps(scopes))
    main(["check", str(MYDIGISOFT), "--format", "json", "--oauth-scopes", str(f)])
    out = json.loads(capsys.readouterr().out)
    return [x for x in out["findings"] if x["check"] == "restricted.undeclared-scope"]


def test_declared_and_narrower_scopes_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scopes = [
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.readonly",
        "https://www.googleapis.com/auth/contacts.readonly",
        "https://www.googleapis.com/auth/calendar.events",
        "openid",
        "email",
    ]
    assert _check(tmp_path, scopes, capsys) == []


def test_an_undeclared_scope_is_an_error_under_the_sources_promises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _check(
        tmp_path,
        {"scopes": ["https://www.googleapis.com/auth/drive", "https://mail.google.com/"]},
        capsys,
    )
    assert len(found) == 1
    (f,) = found
    assert f["severity"] == "error"
    assert "https://www.googleapis.com/auth/drive" in f["message"]
    assert "google_user_data" in f["message"]
    assert {"MD-11", "MD-12", "MD-13"} <= set(f["promises"])


def test_scope_files_and_coverage(tmp_path: Path) -> None:
    f = tmp_path / "scopes.txt"
    f.write_text("https://www.googleapis.com/auth/contacts\nopenid email\n")
    assert read_scopes(f) == ["https://www.googleapis.com/auth/contacts", "openid", "email"]
    assert covers(
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.readonly",
    )
    assert not covers(
        "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendarx"
    )
    assert not covers(
        "https://www.googleapis.com/auth/contacts.readonly",
        "https://www.googleapis.com/auth/contacts",
    )


def test_an_unreadable_scope_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", str(MYDIGISOFT), "--oauth-scopes", str(tmp_path / "missing.json")])
    err = capsys.readouterr().err
    assert code != 0
    assert "cannot read the OAuth scopes" in err
    assert "Traceback" not in err

"""``troth dsr ... --scope`` on the multi-tenant helpdesk (SQLite, PostgreSQL, MariaDB): the CLI
carries the request's scope, and touches nothing outside it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import helpdesk
import pytest

from troth.cli import main


def test_erase_with_scope_changes_only_that_tenants_rows(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = os.environ["TROTH_CONN_HELPDESK_DB"]
    before = helpdesk.snapshot(url)
    args = ["dsr", "erase", str(desk), "--email", "ada@example.com", "--scope", "tenant=1"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    after = helpdesk.snapshot(url)
    changed = helpdesk.changed(before, after)
    assert changed["customers"] == 1  # Ada of tenant 1; her tenant-2 self is untouched
    rows = {r["id"]: r for r in helpdesk.table_rows(url, "SELECT id, email FROM customers")}
    assert rows[2]["email"] == "ADA@example.com "
    assert main([*args, "--json"]) == 0  # a second run changes nothing
    capsys.readouterr()
    assert helpdesk.snapshot(url) == after


def test_access_with_scope_exports_that_tenants_rows(
    desk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ada.zip"
    args = ["dsr", "access", str(desk), "--email", "ADA@example.com", "--scope", "tenant=2"]
    code = main([*args, "-o", str(out), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    counts = {t["table"]: t["rows"] for t in result["tables"] if t["action"] == "access"}
    assert counts["desk.customers"] == 1
    assert out.is_file()


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ([], "scoped by tenant"),  # the scope is required: without it, every tenant
        (["--scope", "tenant"], "--scope must be written name=value"),
        (["--scope", "tenant=1", "--scope", "tenant=2"], "--scope tenant is given twice"),
        (["--scope", "tenant=1", "--scope", "shop=x"], "is scoped by 'shop'"),
    ],
)
def test_a_missing_or_bad_scope_is_refused_before_any_write(
    desk: Path, capsys: pytest.CaptureFixture[str], scope: list[str], message: str
) -> None:
    url = os.environ["TROTH_CONN_HELPDESK_DB"]
    before = helpdesk.snapshot(url)
    code = main(["dsr", "erase", str(desk), "--email", "ada@example.com", *scope])
    assert code == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert "ada@example.com" not in err
    assert helpdesk.snapshot(url) == before

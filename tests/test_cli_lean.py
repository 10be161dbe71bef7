"""``troth dsr access|erase ... --json`` without Typer: the same output, errors and exit codes as
the full app, and the full app for anything the lean parser does not know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from troth.cli import lean
from troth.cli.app import run as full
from troth.datamap.demo import create_demo_db

PROJECT = Path(__file__).resolve().parents[1] / "examples" / "mydigisoft"
VOLATILE = {"id", "received_at", "due_at", "updated_at", "resolved_at"}


@pytest.fixture
def shop(tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(url, "mydigisoft", customers=5)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", url)
    return tmp_path


def _stable(out: str) -> dict[str, Any]:
    doc = json.loads(out)
    if doc.get("request"):
        doc["request"] = {k: v for k, v in doc["request"].items() if k not in VOLATILE}
    doc.pop("export", None)
    return dict(doc)


@pytest.mark.parametrize(
    "args",
    [
        ["dsr", "access", str(PROJECT), "--email", "customer2@example.com", "--json"],
        ["dsr", "access", str(PROJECT), "--json", "--email=customer3@example.com", "-o", "{o}"],
        ["dsr", "erase", str(PROJECT), "--email", "customer4@example.com", "--dry-run", "--json"],
        ["dsr", "erase", str(PROJECT), "--identity", "email=nobody@example.com", "--json"],
    ],
)
def test_the_same_json_as_the_full_app(
    args: list[str], shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.replace("{o}", str(shop / "a.zip")) for a in args]
    assert lean.run(args) == 0
    fast = capsys.readouterr()
    assert full(args) == 0
    slow = capsys.readouterr()
    assert fast.err == slow.err == ""
    assert _stable(fast.out) == _stable(slow.out)


@pytest.mark.parametrize(
    "extra",
    [
        ["--scope", "tenant"],  # a malformed scope
        ["--scope", "a=1", "--scope", "a=2"],
        ["--identity", "colour=blue"],  # an identity the map does not know
    ],
)
def test_the_same_one_line_errors_and_exit_codes(
    extra: list[str], shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["dsr", "access", str(PROJECT), "--json", *extra]
    code = lean.run(args)
    fast = capsys.readouterr()
    assert code == full(args) != 0
    slow = capsys.readouterr()
    assert fast.out == slow.out == ""
    assert fast.err.startswith("error: ")
    assert " ".join(fast.err.split()) == " ".join(slow.err.split())


@pytest.mark.parametrize(
    "args",
    [
        ["dsr", "access", "p", "--email", "a@example.com"],  # not --json: tables and a spinner
        ["dsr", "access", "p", "--json", "--help"],
        ["dsr", "access", "p", "--json", "--bogus"],
        ["dsr", "access", "p", "q", "--json"],  # two paths
        ["dsr", "access", "p", "--json", "--email"],  # a missing value
        ["dsr", "access", "p", "--json", "--dry-run"],  # erase's option
        ["dsr", "status", "p", "--json"],
        ["check", "p", "--json"],
    ],
)
def test_anything_else_goes_to_the_full_app(args: list[str]) -> None:
    assert lean.parse(args) is None
    assert lean.run(args) is None

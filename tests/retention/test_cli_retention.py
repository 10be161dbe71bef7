"""``troth retention ...`` and ``troth check`` on bad input: located errors, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.retention.conftest import FIXTURE, HELD_EMAIL, ids

from troth.cli import main


def _copy(tmp_path: Path, old: str = "", new: str = "", file: str = "policy.yaml") -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(FIXTURE, dst)
    if old:
        text = (dst / file).read_text()
        assert old in text
        (dst / file).write_text(text.replace(old, new, 1))
    return dst


def test_pl_11_cli_plan_json_run_and_holds(
    sqlite_shop: str, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "retention",
                "hold",
                "add",
                "--identity",
                "email",
                "--value",
                HELD_EMAIL,
                "--reason",
                "litigation",
                "--law",
                "Case 12/26",
            ]
        )
        == 0
    )
    assert main(["retention", "hold", "list", "--json"]) == 0
    out = capsys.readouterr().out
    holds = json.loads(out[out.index("[") :])
    assert holds[0]["kind"] == "identity"
    assert HELD_EMAIL not in out
    assert main(["retention", "plan", str(FIXTURE), "--json", "--rule", "sessions"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(i["table"], i["held"]) for i in plan["items"]] == [("sessions", 1)]
    assert main(["retention", "run", str(FIXTURE), "--rule", "sessions", "--dry-run"]) == 0
    assert ids(sqlite_shop, "sessions") == [1, 2, 3]
    capsys.readouterr()
    assert main(["retention", "run", str(FIXTURE), "--rule", "sessions", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "done"
    assert report["results"][0]["held"] == 1
    assert ids(sqlite_shop, "sessions") == [3]  # the CLI sweeps at the real now; 3 is held
    assert main(["retention", "hold", "remove", str(holds[0]["id"])]) == 0
    assert main(["retention", "run", str(FIXTURE), "--rule", "sessions"]) == 0
    assert ids(sqlite_shop, "sessions") == []


def test_pl_11_cli_unknown_rule_lists_valid_ones(
    sqlite_shop: str, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["retention", "plan", str(FIXTURE), "--rule", "sesions"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'sessions'" in err
    assert "--rule" in err


def test_pl_11_two_yeras_errors_with_valid_forms(
    tmp_path: Path, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _copy(tmp_path, "period: 2 years", "period: 2 yeras")
    assert main(["retention", "plan", str(proj)]) == 2
    err = capsys.readouterr().err
    assert "policy.yaml:" in err
    assert "'2 yeras' is not a duration" in err
    assert "P2Y6M" in err


def test_pl_11_timestamp_not_a_timestamp_fails_plan_with_map_location(
    tmp_path: Path,
    troth_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        schema = (
            (FIXTURE / "schema.sql")
            .read_text()
            .replace("started_at TIMESTAMP NULL", "started_at VARCHAR(20) NULL")
        )
        for stmt in schema.split(";"):
            body = "\n".join(ln for ln in stmt.splitlines() if not ln.strip().startswith("--"))
            if body.strip():
                c.exec_driver_sql(body)
    engine.dispose()
    monkeypatch.setenv("TROTH_CONN_SHOP", url)
    assert main(["retention", "plan", str(FIXTURE), "--rule", "sessions"]) == 2
    err = capsys.readouterr().err
    assert "datamap.yaml:" in err
    assert "not a date/time column" in err


def test_pl_11_missing_column_fails_plan_with_map_location(
    tmp_path: Path,
    troth_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE sessions (id INTEGER PRIMARY KEY, customer_id INTEGER)")
    engine.dispose()
    monkeypatch.setenv("TROTH_CONN_SHOP", url)
    assert main(["retention", "plan", str(FIXTURE), "--rule", "sessions"]) == 2
    err = capsys.readouterr().err
    assert "datamap.yaml:" in err
    assert "sessions.ip_address" in err


def test_pl_11_check_reports_rule_without_timestamp_with_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _copy(
        tmp_path,
        "{name: started_at, retention_timestamp: true}",
        "{name: started_at}",
        file="datamap.yaml",
    )
    assert main(["check", str(proj)]) == 1
    out = capsys.readouterr().out
    assert "retention.no-timestamp" in out
    assert "datamap.yaml:" in out


def test_pl_11_check_reports_declared_non_timestamp_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _copy(
        tmp_path,
        "{name: started_at, retention_timestamp: true}",
        "{name: started_at, retention_timestamp: true, data_type: varchar}",
        file="datamap.yaml",
    )
    assert main(["check", str(proj)]) == 1
    assert "retention.timestamp-not-a-timestamp" in capsys.readouterr().out


def test_pl_11_check_warns_rule_covering_no_mapped_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _copy(tmp_path, "categories: [user.device]", "categories: [user.device.cookie_id]")
    main(["check", str(proj)])
    assert "retention.unbound" in capsys.readouterr().out


def test_cli_plan_says_which_rows_are_kept_by_which_hold_and_which_are_anonymised(
    sqlite_shop: str, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["retention", "plan", str(FIXTURE), "--rule", "orders", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    items = {i["table"]: i for i in plan["items"]}
    assert items["invoices"]["kept"][0]["hold"] == "tax_invoices"
    assert items["invoices"]["kept"][0]["reason"].startswith("Invoices are kept 10 years")
    assert items["invoices"]["key"] == "primary key (id)"
    orders_notes = " ".join(items["orders"]["notes"])
    assert "anonymised instead of deleted" in orders_notes
    assert "invoices.order_id (schema, map owns)" in orders_notes
    assert main(["retention", "plan", str(FIXTURE), "--rule", "orders"]) == 0
    out = capsys.readouterr().out
    assert "kept by tax_invoices (policy)" in out
    assert "anonymised instead of deleted" in out

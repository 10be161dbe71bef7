"""`troth check --live` and `troth discover` on the MyDigiSoft demo store: a Gmail cache is an
error under MD-12; the demo as mapped has no drift; discover writes a report and proposals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from troth.cli import main
from troth.connectors.base import connect
from troth.datamap.demo import create_demo_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _project(tmp_path: Path) -> Path:
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(EXAMPLES / "mydigisoft" / name, tmp_path / name)
    return tmp_path


def _gmail_cache(url: str) -> None:
    conn = connect(url, "fill")
    try:
        with conn.engine.begin() as db:  # type: ignore[attr-defined]
            db.exec_driver_sql(
                "CREATE TABLE gmail_cache (id INTEGER NOT NULL PRIMARY KEY, "
                "thread_id VARCHAR(32), customer_id INTEGER)"
            )
            db.execute(
                sa.text("INSERT INTO gmail_cache VALUES (:i, :t, :i)"),
                [{"i": i, "t": f"18d0aa{i:010x}"} for i in range(1, 31)],
            )
    finally:
        conn.close()


@pytest.mark.parametrize("engine", ["sqlite", "postgres", "mysql"])
def test_gmail_cache_is_an_md12_error_and_the_mapped_demo_has_no_drift(
    engine: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = str(request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url",
                                       "mysql": "mysql_url"}[engine]))  # fmt: skip
    create_demo_db(url, "mydigisoft", customers=40)
    project = _project(tmp_path)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", url)
    main(["check", str(project), "--live", "--format", "json"])
    before = json.loads(capsys.readouterr().out)
    assert [f for f in before["findings"] if f["check"].startswith("discovery.")] == []

    _gmail_cache(url)
    assert main(["check", str(project), "--live", "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    found = {f["check"]: f for f in out["findings"] if f["check"].startswith("discovery.")}
    stored = found["discovery.restricted-data-stored"]
    assert stored["severity"] == "error"
    assert "MD-12" in stored["promises"]
    assert "shop.gmail_cache.thread_id" in stored["message"]
    assert stored["where"].startswith(str(project / "datamap.yaml") + ":")
    assert "discovery.undeclared-table" in found
    assert "18d0aa" not in json.dumps(out)


def test_discover_writes_report_and_marked_proposals(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_demo_db(sqlite_url, "mydigisoft", customers=20)
    project = _project(tmp_path / "p" if (tmp_path / "p").mkdir() is None else tmp_path)
    conn = connect(sqlite_url, "fill")
    try:
        with conn.engine.begin() as db:  # type: ignore[attr-defined]
            db.exec_driver_sql("ALTER TABLE customers ADD COLUMN personal_email VARCHAR(255)")
            db.exec_driver_sql(
                "UPDATE customers SET personal_email = 'home' || id || '@example.org'"
            )
    finally:
        conn.close()
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", sqlite_url)
    report, proposals = tmp_path / "r.json", tmp_path / "p.yaml"
    code = main(["discover", str(project), "--sample-size", "50", "--strata", "5",
                 "--report", str(report), "--proposals", str(proposals)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "shop.customers.personal_email" in printed
    body = json.loads(report.read_text())
    assert [(d["kind"], d["column"]) for d in body["drift"]] == [("new_column", "personal_email")]
    assert body["sampling"] == {"size": 50, "strata": 5, "rate": None, "full": False}
    assert all(t["rows_read"] <= 50 for t in body["tables"])
    fragment = yaml.safe_load(proposals.read_text())
    field = fragment["datasets"][0]["tables"][0]["fields"][0]
    assert field["name"] == "personal_email"
    assert field["categories"] == ["user.contact.email"]
    assert field["guess"] is True
    # the map itself was not touched
    assert "personal_email" not in (project / "datamap.yaml").read_text()
    assert "@example.org" not in report.read_text() + proposals.read_text() + printed


def test_discover_time_budget_skips_the_remaining_tables(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_demo_db(sqlite_url, "mydigisoft", customers=5)
    project = _project(tmp_path)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", sqlite_url)
    report = tmp_path / "r.json"
    main(["discover", str(project), "--budget", "0", "--report", str(report),
          "--proposals", str(tmp_path / "p.yaml")])  # fmt: skip
    body = json.loads(report.read_text())
    assert body["tables"][0]["table"] == "countries"  # the first table is always read
    assert len(body["skipped"]) == 7


def test_discover_on_an_unreachable_store_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    url = "postgresql://postgres@127.0.0.1:9/nowhere"
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", url)
    code = main(["discover", str(project), "--report", str(tmp_path / "r.json"),
                 "--proposals", str(tmp_path / "p.yaml")])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    assert "unreachable" in err
    assert "mydigisoft_shop" in err
    assert url not in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()

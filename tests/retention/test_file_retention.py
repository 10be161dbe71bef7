"""Retention on file sets: rows older than the rule's period deleted set-based (DuckDB rewrites only
the files holding one; a Delta table gets one DELETE), undated rows kept and counted, ledger
evidence; what file sets cannot do is refused before any file is touched."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import yaml

from troth.config import Settings
from troth.datamap.model import DataMap
from troth.errors import RetentionError
from troth.policy.model import Policy
from troth.retention.files import bind_files, sweep_files
from troth.store import open_store

PLUS = Path(__file__).resolve().parents[2] / "examples" / "plus"
NOW = datetime(2026, 6, 1)
RULE = {"id": "lake_rows", "name": "Lake rows", "categories": ["user.contact.email"],
        "period": "1 year", "trigger": "collection", "action": "delete"}  # fmt: skip


def _policy(**rule: Any) -> Policy:
    data = yaml.safe_load((PLUS / "policy.yaml").read_text())
    data["retention"] = [{**RULE, **rule}]
    return Policy.model_validate(data)


def _datamap(tables: list[dict[str, Any]]) -> DataMap:
    data = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    data["filesets"] = [{"name": "lake", "connection": "lake", "tables": tables}]
    return DataMap.model_validate(data)


def _field(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, **extra}


EMAIL = _field("email", identity="email", categories=["user.contact.email"])
STAMP = _field("created_at", retention_timestamp=True)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "_delta_log" not in p.parts
    }


@pytest.fixture
def lake(tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "lake"
    (folder / "orders").mkdir(parents=True)
    db = duckdb.connect()
    parts = [  # part-0 holds two old rows, part-1 only recent ones
        [("old1@example.com", "2024-01-02 10:00:00"), ("new1@example.com", "2026-03-01 00:00:00"),
         ("old2@example.com", "2025-05-31 23:59:59")],
        [("new2@example.com", "2026-01-01 00:00:00")],
    ]  # fmt: skip
    for n, rows in enumerate(parts):
        values = ", ".join(f"('{e}', TIMESTAMP '{t}')" for e, t in rows)
        target = folder / "orders" / f"part-{n}.parquet"
        db.execute(f"COPY (SELECT * FROM (VALUES {values}) t(email, created_at)) "
                   f"TO '{target}' (FORMAT parquet)")  # fmt: skip
    (folder / "contacts.csv").write_text(
        "email,created_at\nold3@example.com,2023-07-01\nnew3@example.com,2026-05-01\n"
        "undated@example.com,\n"
    )
    monkeypatch.setenv("TROTH_CONN_LAKE", f"file://{folder}")
    return folder


def test_old_rows_are_deleted_only_in_the_files_that_hold_them(lake: Path) -> None:
    datamap = _datamap([
        {"name": "orders", "path": "orders/*.parquet", "format": "parquet", "fields": [EMAIL, STAMP]},
        {"name": "contacts", "path": "contacts.csv", "format": "csv", "fields": [EMAIL, STAMP]},
    ])  # fmt: skip
    bindings = bind_files(_policy(), datamap)
    assert [(b.rule, b.name, b.column) for b in bindings] == [
        ("lake_rows", "lake.orders", "created_at"),
        ("lake_rows", "lake.contacts", "created_at"),
    ]
    engine = open_store(Settings.from_env())
    before = _digests(lake)
    dry = sweep_files(bindings, NOW, engine, dry_run=True)
    assert [(r["rows"], r["files"]) for r in dry] == [(2, 1), (1, 1)]
    assert _digests(lake) == before  # a dry run writes nothing

    done = sweep_files(bindings, NOW, engine)
    assert [(r["table"], r["rows"], r["files"], r["undated"]) for r in done] == [
        ("lake.orders", 2, 1, 0),
        ("lake.contacts", 1, 1, 1),
    ]
    after = _digests(lake)
    assert after["orders/part-1.parquet"] == before["orders/part-1.parquet"]  # untouched
    assert after["orders/part-0.parquet"] != before["orders/part-0.parquet"]
    left = (
        duckdb.connect()
        .execute(f"SELECT email FROM read_parquet('{lake}/orders/*.parquet') ORDER BY email")
        .fetchall()
    )
    assert [e for (e,) in left] == ["new1@example.com", "new2@example.com"]
    csv = (lake / "contacts.csv").read_text()
    assert "old3@example.com" not in csv
    assert "new3@example.com" in csv
    assert "undated@example.com" in csv  # no usable date: kept, and counted
    with engine.connect() as c:
        entries = [json.loads(d) for d in c.execute(sa.text(
            "SELECT data FROM audit_entry WHERE kind = 'retention.files_swept' ORDER BY seq"
        )).scalars()]  # fmt: skip
    assert [(e["table"], e["rows"], e["cutoff"]) for e in entries] == [
        ("lake.orders", 2, "2025-06-01T00:00:00"),
        ("lake.contacts", 1, "2025-06-01T00:00:00"),
    ]
    assert "example.com" not in json.dumps(entries)

    again = sweep_files(bindings, NOW, engine)  # nothing older left: nothing rewritten
    assert [r["rows"] for r in again] == [0, 0]
    assert _digests(lake) == after


def test_delta_rows_older_than_the_period_are_deleted(lake: Path) -> None:
    deltalake = pytest.importorskip("deltalake")
    import pyarrow as pa

    rows = {"email": ["old@example.com", "new@example.com", "nodate@example.com"],
            "created_at": [datetime(2024, 1, 1), datetime(2026, 2, 1), None]}  # fmt: skip
    deltalake.write_deltalake(str(lake / "customers"), pa.table(rows))
    datamap = _datamap([{"name": "customers", "path": "customers", "format": "delta",
                         "vacuum_hours": 0, "fields": [EMAIL, STAMP]}])  # fmt: skip
    [result] = sweep_files(bind_files(_policy(), datamap), NOW, None)
    assert (result["rows"], result["undated"]) == (1, 1)
    assert result["version"] == 1  # one DELETE: one new version
    assert result["vacuumed_files"] >= 1  # the old version's file, which held the row, is gone
    table = deltalake.DeltaTable(str(lake / "customers")).to_pyarrow_table().to_pylist()
    assert [r["email"] for r in table] == ["new@example.com", "nodate@example.com"]


def test_delta_text_dates(lake: Path) -> None:
    deltalake = pytest.importorskip("deltalake")
    import pyarrow as pa

    rows = {
        "email": ["old@example.com", "new@example.com"],
        "signed_up": ["2024-01-01", "2026-02-01"],
    }
    deltalake.write_deltalake(str(lake / "people"), pa.table(rows))
    stamp = _field("signed_up", retention_timestamp=True)
    datamap = _datamap([{"name": "people", "path": "people", "format": "delta",
                         "fields": [EMAIL, stamp]}])  # fmt: skip
    [result] = sweep_files(bind_files(_policy(), datamap), NOW, None)
    assert result["rows"] == 1
    assert result["old_versions_kept"] is True  # no vacuum declared: said, not hidden
    table = deltalake.DeltaTable(str(lake / "people")).to_pyarrow_table().to_pylist()
    assert [r["email"] for r in table] == ["new@example.com"]


@pytest.mark.parametrize(
    ("rule", "fields", "reason"),
    [
        ({"trigger": "last_activity"}, [EMAIL, STAMP], "trigger last_activity (file sets: collection)"),
        ({"action": "anonymise"}, [EMAIL, STAMP], "action anonymise (file sets: delete)"),
        ({}, [EMAIL], "0 retention_timestamp fields (need 1)"),
        ({}, [{**EMAIL, "legal_holds": [{"id": "tax", "reason": "tax law"}]}, STAMP],
         "legal holds are not applied to file sets"),
    ],
)  # fmt: skip
def test_what_file_sets_cannot_do_is_refused(
    lake: Path, rule: dict[str, Any], fields: list[dict[str, Any]], reason: str
) -> None:
    datamap = _datamap([{"name": "contacts", "path": "contacts.csv", "format": "csv",
                         "fields": fields}])  # fmt: skip
    before = _digests(lake)
    with pytest.raises(RetentionError) as err:
        bind_files(_policy(**rule), datamap)
    assert f"rule lake_rows on lake.contacts: {reason}" in err.value.one_line()
    assert _digests(lake) == before


def test_troth_check_reports_what_retention_cannot_keep(tmp_path: Path) -> None:
    from troth.policy.checks.base import run_checks
    from troth.project import load_project

    policy = yaml.safe_load((PLUS / "policy.yaml").read_text())
    policy["retention"] = [RULE]
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["filesets"] = [
        {
            "name": "lake",
            "connection": "lake",
            "tables": [
                {"name": "contacts", "path": "c.csv", "format": "csv", "fields": [EMAIL]},
                {"name": "dated", "path": "d.csv", "format": "csv", "fields": [EMAIL, STAMP]},
            ],
        }
    ]
    datamap["keystores"] = [{"name": "cache", "connection": "cache", "keys": [
        {"name": "sessions", "pattern": "session:{email}:*",
         "categories": ["user.contact.email"]}]}]  # fmt: skip
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    (tmp_path / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    project = load_project(tmp_path)
    report = run_checks(
        project.policy,
        datamap=project.datamap,
        select=["map.file-retention", "map.retention-unswept"],
    )
    found = sorted((f.check, f.message) for f in report.findings)
    assert found == [
        ("map.file-retention",
         "retention rule lake_rows on lake.contacts: 0 retention_timestamp fields (need 1)"),
        ("map.retention-unswept",
         "retention rule(s) lake_rows cover key pattern cache.sessions, which troth does not "
         "sweep: the period is not kept there"),
    ]  # fmt: skip
    assert all("datamap.yaml" in str(f.where) for f in report.findings)

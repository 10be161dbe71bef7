"""Delta Lake tables: access, erasure by MERGE (a new version rewriting only the files with the
person's rows), the vacuum the map declares, and a second run that writes no version."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa
import yaml
from deltalake import DeltaTable, write_deltalake

from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access, erase

PLUS = Path(__file__).resolve().parents[2] / "examples" / "plus"


#: the map's Delta table of customers (the tests add its ``vacuum_hours``)
DELTA_TABLE: dict[str, Any] = {
    "name": "customers", "path": "delta/customers", "format": "delta",
    "fields": [
        {"name": "email", "identity": "email", "categories": ["user.contact.email"],
         "mask": "redact"},
        {"name": "name", "categories": ["user.name"], "mask": "redact"},
        {"name": "plan"},
    ],
}  # fmt: skip


def _fileset(vacuum: int | None) -> dict[str, Any]:
    table = DELTA_TABLE if vacuum is None else {**DELTA_TABLE, "vacuum_hours": vacuum}
    return {"name": "lake", "connection": "plus_lake", "tables": [table]}


@pytest.fixture(params=[0, None], ids=["vacuum", "no-vacuum"])
def project(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    troth_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Path, str, int | None]:
    folder = tmp_path / "plus"
    folder.mkdir()
    shutil.copy(PLUS / "policy.yaml", folder / "policy.yaml")
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["filesets"] = [_fileset(request.param)]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    create_demo_db(data_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        ada = c.exec_driver_sql("SELECT email FROM accounts ORDER BY id LIMIT 1").scalar_one()
    engine.dispose()
    lake = tmp_path / "lake"
    path = str(lake / "delta" / "customers")
    write_deltalake(path, pa.table({"email": [ada.upper(), "bob@example.com"],
                                    "name": ["Ada L", "Bob B"], "plan": ["pro", "free"]}))  # fmt: skip
    write_deltalake(path, pa.table({"email": ["carol@example.com"], "name": ["Carol"],
                                    "plan": ["pro"]}), mode="append")  # fmt: skip
    monkeypatch.setenv("TROTH_CONN_PLUS_LAKE", lake.as_uri())
    return folder, lake, ada, request.param


def _rows(path: Path) -> Counter[str]:
    table = DeltaTable(str(path)).to_pyarrow_table()
    return Counter(hashlib.sha256(repr(sorted(r.items())).encode()).hexdigest()
                   for r in table.to_pylist())  # fmt: skip


def _files_holding(lake: Path, value: str) -> list[str]:
    db = duckdb.connect()
    out = []
    for p in sorted(lake.rglob("*.parquet")):
        rows = db.execute(f"SELECT * FROM read_parquet('{p}')").fetchall()
        if any(value.lower() in str(v).lower() for r in rows for v in r):
            out.append(p.name)
    db.close()
    return out


def test_delta_access_and_erasure(project: tuple[Path, Path, str, int | None]) -> None:
    folder, lake, ada, vacuum = project
    path = lake / "delta" / "customers"
    result = access(folder, [Identity("email", ada)])
    assert {t["table"]: t["rows"] for t in result.tables}["lake.customers"] == 1
    assert result.export is not None
    with zipfile.ZipFile(result.export) as zf:
        assert b"Ada L" in zf.read("json/lake.customers.json")

    before = _rows(path)
    version = DeltaTable(str(path)).version()
    dry = erase(folder, [Identity("email", ada)], dry_run=True)
    assert {t["table"]: t["rows"] for t in dry.tables}["lake.customers"] == 1
    assert DeltaTable(str(path)).version() == version  # a dry run writes no version

    first = erase(folder, [Identity("email", ada)])
    assert first.ok, first.error
    [t] = [t for t in first.tables if t["table"] == "lake.customers"]
    assert t["files"] == 1  # only the file holding the row was rewritten
    assert t["version"] == version + 1
    after = _rows(path)
    assert sum((before - after).values()) == 1  # one row changed ...
    assert sum((after - before).values()) == 1  # ... into its masked form; the rest unchanged
    assert [r for r in DeltaTable(str(path)).to_pyarrow_table().to_pylist()
            if r["email"] == "[redacted]"] == [
        {"email": "[redacted]", "name": "[redacted]", "plan": "pro"}]  # fmt: skip
    if vacuum is None:
        assert t["old_versions_kept"] is True
        assert _files_holding(lake, ada)  # the old version still holds it: reported, not hidden
    else:
        assert t["vacuumed_files"] >= 1
        assert _files_holding(lake, ada) == []  # no file of any version holds the person now

    settled = DeltaTable(str(path)).version()  # the erasure's version (and its vacuum's)
    second = erase(folder, [Identity("email", ada)])
    assert second.ok
    assert DeltaTable(str(path)).version() == settled  # no new version
    assert {t["table"]: t["rows"] for t in second.tables}["lake.customers"] == 0


def _log_holding(path: Path, value: str) -> list[str]:
    """The transaction log entries whose text holds *value* (min/max statistics of its files)."""
    log = path / "_delta_log"
    return sorted(p.name for p in log.glob("*.json") if value.lower() in p.read_text().lower())


def test_vacuum_removes_the_log_entries_that_hold_old_values(
    project: tuple[Path, Path, str, int | None],
) -> None:
    folder, lake, ada, vacuum = project
    path = lake / "delta" / "customers"
    assert _log_holding(path, ada)  # the first commit's statistics: min(email) is the person's
    assert erase(folder, [Identity("email", ada)]).ok
    table = DeltaTable(str(path))
    if vacuum is None:  # no vacuum declared: the old versions, log included, are kept
        assert _log_holding(path, ada)
        assert table.load_as_version(0) is None
        return
    assert _log_holding(path, ada) == []
    assert table.to_pyarrow_table().num_rows == 3  # the table still reads ...
    write_deltalake(str(path), pa.table({"email": ["dan@example.com"], "name": ["Dan"],
                                         "plan": ["free"]}), mode="append")  # fmt: skip
    assert DeltaTable(str(path)).to_pyarrow_table().num_rows == 4  # ... and takes writes

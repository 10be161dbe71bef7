"""File sets through DuckDB: CSV, Parquet and NDJSON folders; access, and erasure that rewrites only
the files holding the person's rows (proven by hashing every file and every row before and after)."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import yaml

from troth.datamap.demo import create_demo_db
from troth.datamap.model import DataMap
from troth.dsr import Identity, access, erase
from troth.errors import StoreDownError

PLUS = Path(__file__).resolve().parents[2] / "examples" / "plus"
FILESET = {
    "name": "lake",
    "connection": "plus_lake",
    "tables": [
        {"name": "orders", "path": "orders/*.parquet", "format": "parquet", "erase": "delete_row",
         "fields": [{"name": "email", "identity": "email", "categories": ["user.contact.email"]},
                    {"name": "total"}]},
        {"name": "contacts", "path": "contacts.csv", "format": "csv",
         "fields": [{"name": "email", "identity": "email", "categories": ["user.contact.email"],
                     "mask": "redact"},
                    {"name": "name", "categories": ["user.name"], "mask": "redact"},
                    {"name": "city", "categories": ["user.contact.address.city"]}]},
        {"name": "events", "path": "events/*.ndjson", "format": "ndjson", "erase": "delete_row",
         "fields": [{"name": "user", "identity": "email", "categories": ["user.contact.email"]},
                    {"name": "kind"}]},
    ],
}  # fmt: skip


def _write(folder: Path, ada: str, bob: str) -> None:
    db = duckdb.connect()
    (folder / "orders").mkdir(parents=True)
    (folder / "events").mkdir()
    for n, people in enumerate([[ada, bob, bob], [bob, bob], ["carol@example.com"]]):
        rows = ", ".join(f"('{p}', {10 * n + i}.5)" for i, p in enumerate(people))
        db.execute(
            f"COPY (SELECT * FROM (VALUES {rows}) t(email, total)) "
            f"TO '{folder / 'orders' / f'part-{n}.parquet'}' (FORMAT parquet)"
        )
    (folder / "contacts.csv").write_text(
        f'email,name,city\n{ada.upper()},Ada L,Springfield\n{bob},"Bob, B",Shelbyville\n'
        "carol@example.com,Carol,Ogdenville\n"
    )
    (folder / "events" / "a.ndjson").write_text(
        json.dumps({"user": ada, "kind": "login"}) + "\n"
        + json.dumps({"user": bob, "kind": "login"}) + "\n"
    )  # fmt: skip
    (folder / "events" / "b.ndjson").write_text(json.dumps({"user": bob, "kind": "buy"}) + "\n")
    db.close()


@pytest.fixture
def project(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, str, str]:
    folder = tmp_path / "plus"
    folder.mkdir()
    shutil.copy(PLUS / "policy.yaml", folder / "policy.yaml")
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["filesets"] = [FILESET]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    create_demo_db(data_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        ada, bob = [
            r[0] for r in c.exec_driver_sql("SELECT email FROM accounts ORDER BY id LIMIT 2")
        ]
    engine.dispose()
    lake = tmp_path / "lake"
    _write(lake, ada, bob)
    monkeypatch.setenv("TROTH_CONN_PLUS_LAKE", lake.as_uri())
    return folder, lake, ada, bob


def file_hashes(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lake.rglob("*"))
        if p.is_file()
    }


def row_hashes(lake: Path) -> dict[str, Counter[str]]:
    """Per file, the multiset of its rows' hashes (rows read by DuckDB)."""
    readers = {".parquet": "read_parquet", ".csv": "read_csv", ".ndjson": "read_json"}
    out: dict[str, Counter[str]] = {}
    db = duckdb.connect()
    for p in sorted(lake.rglob("*")):
        fn = readers.get(p.suffix)
        if fn is None:
            continue
        opts = ", all_varchar = true" if p.suffix == ".csv" else ""
        rows = db.execute(f"SELECT * FROM {fn}('{p}'{opts})").fetchall()
        out[str(p.relative_to(lake))] = Counter(
            hashlib.sha256(repr(r).encode()).hexdigest() for r in rows
        )
    db.close()
    return out


def test_access_returns_the_persons_rows_from_every_format(
    project: tuple[Path, Path, str, str],
) -> None:
    folder, _lake, ada, bob = project
    result = access(folder, [Identity("email", ada)])
    counts = {t["table"]: t["rows"] for t in result.tables}
    assert counts["lake.orders"] == 1
    assert (
        counts["lake.contacts"] == 1
    )  # upper-case in the file: e-mails compare case-insensitively
    assert counts["lake.events"] == 1
    assert result.export is not None
    with zipfile.ZipFile(result.export) as zf:
        orders = json.loads(zf.read("json/lake.orders.json"))
        contacts = json.loads(zf.read("json/lake.contacts.json"))
    [order] = orders
    assert order["email"] == ada
    assert order["filename"] == "orders/part-0.parquet"
    assert contacts[0]["name"] == "Ada L"
    assert bob not in json.dumps(orders + contacts)


def test_erasure_rewrites_only_the_persons_rows_and_files(
    project: tuple[Path, Path, str, str],
) -> None:
    folder, lake, ada, _bob = project
    files_before, rows_before = file_hashes(lake), row_hashes(lake)

    dry = erase(folder, [Identity("email", ada)], dry_run=True)
    assert file_hashes(lake) == files_before  # nothing written
    planned = {t["table"]: (t["rows"], t["files"]) for t in dry.tables if "files" in t}
    assert planned == {"lake.orders": (1, 1), "lake.contacts": (1, 1), "lake.events": (1, 1)}

    first = erase(folder, [Identity("email", ada)])
    assert first.ok, first.error
    files_after, rows_after = file_hashes(lake), row_hashes(lake)
    rewritten = {f for f in files_before if files_before[f] != files_after.get(f)}
    assert rewritten == {"orders/part-0.parquet", "contacts.csv", "events/a.ndjson"}
    assert set(files_after) == set(files_before)  # no temp file left, no file lost
    for f in rewritten:  # only the person's one row changed in each rewritten file
        removed = rows_before[f] - rows_after[f]
        added = rows_after[f] - rows_before[f]
        assert sum(removed.values()) == 1, f
        assert sum(added.values()) == (1 if f == "contacts.csv" else 0), f
    db = duckdb.connect()
    masked = db.execute(
        f"SELECT * FROM read_csv('{lake / 'contacts.csv'}', all_varchar = true) ORDER BY city"
    ).fetchall()
    db.close()
    assert ("[redacted]", "[redacted]", None) in masked  # city: a personal field, null
    assert ("carol@example.com", "Carol", "Ogdenville") in masked

    second = erase(folder, [Identity("email", ada)])
    assert second.ok
    assert file_hashes(lake) == files_after  # a second run rewrites nothing
    assert all(t["rows"] == 0 for t in second.tables if t["table"].startswith("lake."))


def test_missing_folder_fails_before_any_write(
    project: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder, _lake, ada, _bob = project
    monkeypatch.setenv("TROTH_CONN_PLUS_LAKE", (tmp_path / "gone").as_uri())
    result = erase(folder, [Identity("email", ada)])
    assert isinstance(result.error, StoreDownError)
    assert "plus_lake" in result.error.one_line()


def test_invalid_file_tables_are_refused() -> None:
    base: dict[str, Any] = {"name": "t", "path": "x/*.csv", "format": "csv"}
    bad = [
        {**base, "fields": [{"name": "email"}]},  # no identity field
        {**base, "path": "../x.csv", "fields": [{"name": "e", "identity": "email"}]},
        {**base, "fields": [{"name": "e", "identity": "email", "mask": "hash"}]},
    ]
    for table in bad:
        with pytest.raises(ValueError, match=r"identity field|no '/'|null or redact"):
            DataMap.model_validate(
                {"filesets": [{"name": "f", "connection": "f", "tables": [table]}]}
            )

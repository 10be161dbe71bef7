"""The access copy is the same on SQLite, PostgreSQL and MariaDB (issue 8, point 10).

Rows are selected with SQLAlchemy Core ``text()`` queries, so each engine's driver returns them in
its own shapes (SQLite: floats for DECIMAL, text for TIMESTAMP, 1 for BOOLEAN, JSON as text;
PostgreSQL: Decimal, datetime, True, decoded JSON; MariaDB: Decimal, datetime, 1, JSON as text),
and the column types come from the connector, as a request gets them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from troth.connectors.sql import SqlConnector, _with_driver
from troth.datamap.graph import TableId
from troth.datamap.model import DataMap
from troth.dsr.export import ZipExport
from troth.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = TableId("app", "people")
TICKETS = TableId("app", "tickets")
NOTES = TableId("app", "notes")
ME = "josé.müller@example.com"
OTHER = "ada@example.com"
SECRET = "Refund for order 555-0100"  # the other person's ticket subject: never exported

DATAMAP = DataMap.model_validate(
    {
        "systems": [
            {
                "name": "app",
                "datasets": [
                    {
                        "name": "app",
                        "connection": "app",
                        "tables": [
                            {
                                "name": "people",
                                "label": "Your profile",
                                "fields": [
                                    {"name": "id", "primary_key": True},
                                    {"name": "name", "categories": ["user.name"]},
                                    {
                                        "name": "email",
                                        "label": "E-mail address",
                                        "categories": ["user.contact.email"],
                                        "identity": "email",
                                    },
                                    {
                                        "name": "total",
                                        "label": "Total spent",
                                        "categories": ["user.financial"],
                                    },
                                    {"name": "created_at"},
                                    {"name": "birthday", "categories": ["user.demographic"]},
                                    {"name": "active"},
                                    {"name": "prefs"},
                                    {"name": "photo"},
                                ],
                            },
                            {
                                "name": "tickets",
                                "label": "Support tickets",
                                "fields": [
                                    {"name": "id", "primary_key": True},
                                    {"name": "subject"},
                                    {
                                        "name": "meta",
                                        "json": [
                                            {"path": "cc[]", "label": "Copied", "identity": "email"}
                                        ],
                                    },
                                ],
                            },
                            {"name": "notes", "fields": [{"name": "id", "primary_key": True}]},
                        ],
                    }
                ],
            }
        ]
    }
)

DDL = {
    "sqlite": ("TIMESTAMP", "BLOB"),
    "postgres": ("TIMESTAMP", "BYTEA"),
    "mysql": ("TIMESTAMP NULL", "BLOB"),
}
PEOPLE_ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "José Müller", "email": ME, "total": "3.98",
     "created_at": "2024-01-02 10:00:00", "birthday": "1990-05-17", "active": True,
     "prefs": json.dumps({"lang": "fr", "tags": ["café", "thé"]}), "photo": b"\x00\xff"},
    {"id": 2, "name": "José Müller", "email": ME, "total": "4.00",
     "created_at": "2024-03-04 05:06:07", "birthday": None, "active": False,
     "prefs": json.dumps([1, "ü"]), "photo": None},
    {"id": 3, "name": "Ada Lovelace", "email": OTHER, "total": "12.50",
     "created_at": "2024-01-01 00:00:00", "birthday": None, "active": True,
     "prefs": "{}", "photo": None},
]  # fmt: skip


def _create(url: str, engine_name: str) -> None:
    ts, blob = DDL[engine_name]
    engine = sa.create_engine(_with_driver(url))
    with engine.begin() as c:
        c.execute(
            sa.text(
                "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(100), "
                f"email VARCHAR(255), total DECIMAL(10,2), created_at {ts}, birthday DATE, "
                f"active BOOLEAN, prefs JSON, photo {blob})"
            )
        )
        c.execute(sa.text("CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject VARCHAR(200), "
                          "meta JSON)"))  # fmt: skip
        c.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
        c.execute(
            sa.text(
                "INSERT INTO people VALUES (:id, :name, :email, :total, :created_at, :birthday, "
                ":active, :prefs, :photo)"
            ),
            PEOPLE_ROWS,
        )
        c.execute(
            sa.text("INSERT INTO tickets VALUES (5, :subject, :meta)"),
            {"subject": SECRET, "meta": json.dumps({"cc": [OTHER, ME], "from": OTHER})},
        )
    engine.dispose()


def _export(url: str, engine_name: str, out: Path, spool_root: Path) -> Path:
    """Select the person's rows as the driver returns them and feed them to the export."""
    _create(url, engine_name)
    connector = SqlConnector(url, "app")
    schema = connector.introspect()
    connector.engine.dispose()
    types = {TableId("app", t.name): {c.name: c.type for c in t.columns} for t in schema.tables}
    export = ZipExport(
        out,
        request_id="req-1",
        policy=load_policy(ROOT / "examples" / "mydigisoft").policy,
        datamap=DATAMAP,
        types=types,
        spool_root=spool_root,
    )
    engine = sa.create_engine(_with_driver(url))
    with engine.connect() as c:
        for row in c.execute(
            sa.text("SELECT * FROM people WHERE email = :e ORDER BY id"), {"e": ME}
        ):
            export.add(PEOPLE, row._mapping)
        for row in c.execute(sa.text("SELECT * FROM notes")):  # none: an empty table
            export.add(NOTES, row._mapping)
        for (ticket_id,) in c.execute(sa.text("SELECT id FROM tickets")):
            export.mention(TICKETS, {"id": ticket_id}, "meta", "cc[]", ME)
    engine.dispose()
    assert export.counts() == {"app.people": 2}
    assert export.mention_counts() == {"app.tickets": 1}
    return export.finish()


def _contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture
def exports(sqlite_url: str, pg_url: str, mysql_url: str, tmp_path: Path) -> dict[str, Path]:
    spool = tmp_path / "home" / "spool"
    urls = {"sqlite": sqlite_url, "postgres": pg_url, "mysql": mysql_url}
    return {e: _export(u, e, tmp_path / f"{e}.zip", spool) for e, u in urls.items()}


def test_the_three_engines_give_the_same_copy(exports: dict[str, Path]) -> None:
    files = {e: _contents(p) for e, p in exports.items()}
    names = {e: sorted(f) for e, f in files.items()}
    assert names["sqlite"] == names["postgres"] == names["mysql"]
    for name in names["sqlite"]:
        if name.startswith(("json/", "csv/")):
            assert files["sqlite"][name] == files["postgres"][name] == files["mysql"][name], name

    def summary(engine: str) -> str:
        generated = json.loads(files[engine]["manifest.json"])["generated_at"]
        return files[engine]["summary.html"].decode().replace(generated, "GENERATED")

    assert summary("sqlite") == summary("postgres") == summary("mysql")


def test_values_are_rendered_for_a_person(exports: dict[str, Path]) -> None:
    files = _contents(exports["mysql"])
    people = json.loads(files["json/app.people.json"])
    assert people == [
        {"id": 1, "name": "José Müller", "email": ME, "total": "3.98",
         "created_at": "2024-01-02T10:00:00", "birthday": "1990-05-17", "active": True,
         "prefs": {"lang": "fr", "tags": ["café", "thé"]}, "photo": "00ff"},
        {"id": 2, "name": "José Müller", "email": ME, "total": "4.00",
         "created_at": "2024-03-04T05:06:07", "birthday": None, "active": False,
         "prefs": [1, "ü"], "photo": None},
    ]  # fmt: skip
    # UTF-8 without escapes
    raw = files["json/app.people.json"].decode("utf-8")
    assert "José" in raw
    assert "\\u00e9" not in raw
    assert "\\u" not in files["manifest.json"].decode("utf-8")


def test_csv_has_a_bom_and_the_labels(exports: dict[str, Path]) -> None:
    data = _contents(exports["postgres"])["csv/app.people.csv"]
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["ID", "Name", "E-mail address", "Total spent", "Created at", "Birthday",
                       "Active", "Prefs", "Photo"]  # fmt: skip
    assert rows[1] == ["1", "José Müller", ME, "3.98", "2024-01-02T10:00:00", "1990-05-17",
                       "true", '{"lang":"fr","tags":["café","thé"]}', "00ff"]  # fmt: skip
    assert rows[2][5] == ""
    assert rows[2][6] == "false"


def test_no_empty_table_anywhere(exports: dict[str, Path]) -> None:
    files = _contents(exports["sqlite"])
    assert not [n for n in files if "notes" in n]
    manifest = json.loads(files["manifest.json"])
    assert [t["table"] for t in manifest["tables"]] == ["app.people"]
    assert "Notes" not in files["summary.html"].decode()


def test_mentions_show_where_never_the_rest_of_the_row(exports: dict[str, Path]) -> None:
    files = _contents(exports["postgres"])
    everything = b"".join(files.values()).decode("utf-8", "replace")
    assert SECRET not in everything
    assert OTHER not in everything  # the ticket's author and the other cc
    (mention,) = json.loads(files["json/mentions.json"])
    assert mention == {"table": "app.tickets", "key": {"id": 5}, "column": "meta",
                       "path": "cc[]", "value": ME}  # fmt: skip
    rows = list(csv.reader(io.StringIO(files["csv/mentions.csv"].decode("utf-8-sig"))))
    assert rows == [["Table", "Record", "Where", "Value"],
                    ["Support tickets", "ID 5", "Meta: Copied", ME]]  # fmt: skip
    summary = files["summary.html"].decode()
    assert "You are mentioned in" in summary
    assert "Meta: Copied" in summary


def test_summary_uses_labels_from_the_map_and_readable_fallbacks(exports: dict[str, Path]) -> None:
    summary = _contents(exports["sqlite"])["summary.html"].decode()
    assert '<html lang="en">' in summary
    for label in ("Your profile", "Total spent", "E-mail address", "Created at", "Birthday"):
        assert label in summary
    assert "created_at" not in summary
    assert "2024-01-02T10:00:00" in summary
    assert "José Müller" in summary


def test_the_connector_names_mariadb_booleans_and_json(mysql_url: str, tmp_path: Path) -> None:
    _create(mysql_url, "mysql")
    connector = SqlConnector(mysql_url, "app")
    info = connector.introspect().table("people")
    connector.engine.dispose()
    assert info is not None
    types = {c.name: c.type for c in info.columns}
    assert types["active"] == "boolean"
    assert types["prefs"] == "json"
    assert types["name"] == "varchar(100)"

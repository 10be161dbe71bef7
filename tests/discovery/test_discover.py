"""troth discover and the drift of `check --live`, on SQLite, PostgreSQL and MariaDB: a new table,
a new column, a mislabelled column, identifiers in free text, a Gmail cache against MD-12."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.connectors.base import connect
from troth.datamap.loader import load_datamap
from troth.discovery.discover import DriftKind, discover
from troth.discovery.sample import Sampling, sample_rows
from troth.policy.loader import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

DDL = [
    "CREATE TABLE customers (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(255), "
    "personal_email VARCHAR(255), reference VARCHAR(40), plan VARCHAR(20))",
    "CREATE TABLE tickets (id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER, body TEXT)",
    "CREATE TABLE gmail_cache (id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER, "
    "message_id VARCHAR(40), snippet TEXT)",
    "CREATE TABLE products (id INTEGER NOT NULL PRIMARY KEY, sku VARCHAR(20), title VARCHAR(80))",
]
N = 60

MAP = """\
troth: 1
kind: datamap
systems:
  - name: shop
    datasets:
      - name: app
        connection: app_db
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, categories: [user.contact.email], identity: email}
              - {name: reference, categories: [system.operations]}
              - {name: plan}
          - name: tickets
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - {name: body, categories: [user.content.private]}
"""


def _fill(url: str) -> None:
    conn = connect(url, "fill")
    engine = conn.engine  # type: ignore[attr-defined]
    with engine.begin() as db:
        for stmt in DDL:
            db.exec_driver_sql(stmt)
        db.execute(
            sa.text(
                "INSERT INTO customers (id, email, personal_email, reference, plan) "
                "VALUES (:id, :email, :pe, :ref, :plan)"
            ),
            [
                {
                    "id": i,
                    "email": f"user{i}@example.com",
                    "pe": f"private{i}@example.org",
                    "ref": f"(202) 555-01{i % 100:02d}",
                    "plan": "pro" if i % 2 else "basic",
                }
                for i in range(1, N + 1)
            ],
        )
        bodies = [
            "The download link in my licence e-mail does not work, please send it again.",
            "I was charged twice, my card is 4111 1111 1111 1111 and I want a refund today.",
            "How do I move my licence to a new laptop? The old one broke last week.",
        ]
        db.execute(
            sa.text("INSERT INTO tickets (id, customer_id, body) VALUES (:id, :c, :b)"),
            [{"id": i, "c": i, "b": bodies[i % 3]} for i in range(1, N + 1)],
        )
        db.execute(
            sa.text(
                "INSERT INTO gmail_cache (id, customer_id, message_id, snippet) "
                "VALUES (:id, :c, :m, :s)"
            ),
            [
                {
                    "id": i,
                    "c": i,
                    "m": f"18c2f3a4b5d6{i:04x}",
                    "s": f"Gmail message 18c2f3a4b5d6{i:04x} from friend{i}@example.net about lunch",
                }
                for i in range(1, N + 1)
            ],
        )
        db.execute(
            sa.text("INSERT INTO products (id, sku, title) VALUES (:id, :sku, :t)"),
            [{"id": i, "sku": f"SKU-{i:05d}", "t": f"Office Suite {i}"} for i in range(1, N + 1)],
        )
    conn.close()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def store_url(request: pytest.FixtureRequest) -> str:
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[request.param]
    url = str(request.getfixturevalue(fixture))
    _fill(url)
    return url


def test_discover_reports_each_drift_once_and_no_values(store_url: str) -> None:
    dm = load_datamap("datamap.yaml", text=textwrap.dedent(MAP))
    policy = load_policy(EXAMPLES / "mydigisoft")
    conn = connect(store_url, "app_db")
    try:
        report = discover(
            dm.datamap,
            {"app_db": conn},
            Sampling(size=40, strata=4),
            restricted=policy.policy.restricted_sources,
        )
    finally:
        conn.close()
    got = sorted((d.kind.value, d.table, d.column or "") for d in report.drift)
    assert got == [
        ("free_text", "tickets", "body"),
        ("mislabelled", "customers", "reference"),
        ("new_column", "customers", "personal_email"),
        ("new_table", "gmail_cache", ""),
        ("restricted", "gmail_cache", "message_id"),
        ("restricted", "gmail_cache", "snippet"),
    ]
    by = {(d.kind, d.table, d.column): d for d in report.drift}
    assert by[DriftKind.free_text, "tickets", "body"].categories == ("user.financial.credit_card",)
    assert by[DriftKind.mislabelled, "customers", "reference"].categories == (
        "user.contact.phone_number",
    )
    restricted = by[DriftKind.restricted, "gmail_cache", "message_id"]
    assert "MD-12" in restricted.promises
    # proposals: marked guesses for the new table's personal columns and the new column
    props = report.proposals()["datasets"][0]["tables"]
    fields = {(t["name"], f["name"]): f for t in props for f in t["fields"]}
    assert fields["customers", "personal_email"]["categories"] == ["user.contact.email"]
    assert all(f["guess"] is True for f in fields.values())
    assert ("products", "sku") not in fields
    # the report says what and where, never a value
    text = json.dumps(report.as_dict())
    for value in ("user1@example.com", "private1@example.org", "4111 1111", "555-01", "18c2f3"):
        assert value not in text
    # the sample is stratified over the whole key range, within its size
    assert all(t.rows <= 40 for t in report.tables)


def test_stratified_sample_spans_the_key_range_and_full_scan_reads_all(store_url: str) -> None:
    conn = connect(store_url, "app_db")
    try:
        table = conn.introspect().table("customers")
        assert table is not None
        ids = [r[0] for r in sample_rows(conn, table, ["id"], Sampling(size=12, strata=4))]  # type: ignore[arg-type]
        assert len(ids) == 12
        assert len(set(ids)) == 12
        assert min(ids) == 1
        assert max(ids) > N * 3 // 4  # the last stratum was read
        full = list(sample_rows(conn, table, ["id"], Sampling(full=True)))  # type: ignore[arg-type]
        assert len(full) == N
    finally:
        conn.close()


def test_two_datasets_on_one_store_do_not_report_each_others_tables(sqlite_url: str) -> None:
    _fill(sqlite_url)
    text = textwrap.dedent(MAP) + textwrap.indent(
        textwrap.dedent(
            """\
            - name: mail
              connection: app_db
              tables:
                - name: gmail_cache
                  fields:
                    - {name: id, primary_key: true}
                    - {name: customer_id}
                    - {name: message_id, categories: [user.content.private]}
                    - {name: snippet, categories: [user.content.private, user.contact.email]}
            """
        ),
        " " * 6,
    )
    dm = load_datamap("datamap.yaml", text=text)
    conn = connect(sqlite_url, "app_db")
    try:
        report = discover(dm.datamap, {"app_db": conn}, Sampling(size=40, strata=4))
    finally:
        conn.close()
    got = sorted((d.kind.value, d.dataset, d.table, d.column or "") for d in report.drift)
    assert got == [
        ("free_text", "app", "tickets", "body"),
        ("mislabelled", "app", "customers", "reference"),
        ("new_column", "app", "customers", "personal_email"),
    ]
    assert sorted(t.table for t in report.tables) == [
        "customers",
        "gmail_cache",
        "products",
        "tickets",
    ]


def test_a_table_without_an_integer_key_is_sampled_by_rate_in_the_database(
    store_url: str,
) -> None:
    conn = connect(store_url, "app_db")
    try:
        with conn.engine.begin() as db:  # type: ignore[attr-defined]
            db.exec_driver_sql("CREATE TABLE codes (code VARCHAR(20) NOT NULL PRIMARY KEY)")
            db.execute(
                sa.text("INSERT INTO codes (code) VALUES (:c)"),
                [{"c": f"C{i:05d}"} for i in range(2000)],
            )
        table = conn.introspect().table("codes")
        assert table is not None
        first = [r[0] for r in sample_rows(conn, table, ["code"], Sampling(size=10))]
        assert len(first) == 10
        some = [r[0] for r in sample_rows(conn, table, ["code"], Sampling(size=50, rate=0.5))]
        assert 0 < len(some) <= 50
        none = list(sample_rows(conn, table, ["code"], Sampling(size=50, rate=0.0)))
        assert none == []
        # a random half of the rows, not the first ones
        assert set(some) != {f"C{i:05d}" for i in range(len(some))}
    finally:
        conn.close()

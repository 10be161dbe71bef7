"""Introspection of a live schema into a skeleton map, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.connectors import connect
from troth.datamap.demo import create_demo_db, schema_statements
from troth.datamap.graph import Graph, TableId
from troth.datamap.introspect import guess_column, skeleton
from troth.datamap.loader import load_datamap
from troth.datamap.model import RefKind
from troth.datamap.yamlout import dump_datamap


@pytest.mark.parametrize("example", ["mydigisoft", "plus"])
def test_introspect_demo_schema_round_trips(db_url: str, example: str, tmp_path: Path) -> None:
    create_demo_db(db_url, example, customers=5)
    conn = connect(db_url, "demo")
    try:
        schema = conn.introspect()
    finally:
        conn.close()
    assert "troth_demo_seq" not in {t.name for t in schema.tables}
    out = tmp_path / "datamap.yaml"
    out.write_text(dump_datamap(skeleton(schema, dataset="app", connection="demo")))
    dm = load_datamap(out).datamap  # the output is valid input
    if example == "mydigisoft":
        ref = dm.resolve("app", "orders", "customer_id").references[0]
        assert ref.field == "app.customers.id"
        assert ref.kind is RefKind.owns
        email = dm.resolve("app", "customers", "email")
        assert email.categories == ["user.contact.email"]
        assert email.guess
        assert email.identity == "email"
        assert dm.resolve("app", "customers", "phone").identity == "phone"
        assert dm.resolve("app", "customers", "id").primary_key
        # an email column outside the main person table is guessed but is not an identity
        req = dm.resolve("app", "support_tickets", "requester_email")
        assert req.guess
        assert req.identity is None
        assert dm.resolve("app", "customers", "created_at").retention_timestamp
        assert not dm.resolve("app", "customers", "last_login").retention_timestamp
        assert dm.resolve("app", "trade_compliance_checks", "ip_address").categories == [
            "user.device.ip_address"
        ]
        unguessed = dm.resolve("app", "orders", "status")
        assert not unguessed.guess
        assert unguessed.categories == []
    else:
        assert dm.resolve("app", "accounts", "password_hash").categories == [
            "user.authorization.credentials"
        ]
        assert dm.resolve("app", "accounts", "email").identity == "email"
        refs = {r.field for r in dm.resolve("app", "chat_messages", "contact_id").references}
        assert refs == {"app.crm_contacts.id"}
    graph = Graph.build(dm)
    assert graph.dangling == []
    assert graph.unreachable_tables() == []  # every personal table hangs off the person table
    main = "customers" if example == "mydigisoft" else "accounts"
    assert TableId("app", main) in graph.identity_tables()


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("email", "user.contact.email"),
        ("contact_email", "user.contact.email"),
        ("tel", "user.contact.phone_number"),
        ("mobile_number", "user.contact.phone_number"),
        ("first_name", "user.name.first"),
        ("lastname", "user.name.last"),
        ("zip", "user.contact.address.postal_code"),
        ("pass_hash", "user.authorization.credentials"),
        ("dob", "user.demographic.date_of_birth"),
        ("ip", "user.device.ip_address"),
        # near-misses: nothing is guessed
        ("emailed", None),
        ("telemetry", None),
        ("zipper", None),
        ("shipping_method", None),
        ("description", None),
    ],
)
def test_column_name_guesses(name: str, category: str | None) -> None:
    g = guess_column(name)
    assert (g.category if g else None) == category


def test_schema_sql_has_no_engine_specific_syntax() -> None:
    for example in ("mydigisoft", "plus"):
        for stmt in schema_statements(example):
            assert stmt.startswith("CREATE TABLE")
            for word in ("SERIAL", "AUTOINCREMENT", "AUTO_INCREMENT", "ENGINE=", "BOOLEAN"):
                assert word not in stmt

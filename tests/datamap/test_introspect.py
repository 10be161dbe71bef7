"""Introspection of a live schema into a proposed map, on SQLite, PostgreSQL and MariaDB.

Schemas shaped like public sample databases (:mod:`sample_schemas`): every test asserts the
concrete proposals (roles, reference kinds, categories, scopes, retention candidates) and that the
written map loads back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sample_schemas import create_schema

from troth.cli import main
from troth.connectors import connect
from troth.connectors.base import SchemaInfo
from troth.datamap.demo import create_demo_db, schema_statements
from troth.datamap.graph import Graph, TableId
from troth.datamap.introspect import Proposal, Role, propose, skeleton
from troth.datamap.loader import load_datamap
from troth.datamap.model import DataMap, IdentityKind, MapField, RefKind
from troth.datamap.yamlout import dump_datamap


def _schema(url: str) -> SchemaInfo:
    conn = connect(url, "sample")
    try:
        return conn.introspect()
    finally:
        conn.close()


def _round_trip(proposal: Proposal, tmp_path: Path) -> DataMap:
    out = tmp_path / "datamap.yaml"
    out.write_text(dump_datamap(proposal.datamap))
    return load_datamap(out).datamap  # the output is valid input


def _ref(dm: DataMap, table: str, column: str) -> tuple[str, RefKind]:
    (ref,) = dm.resolve("app", table, column).references
    return ref.field, ref.kind


def _field(dm: DataMap, table: str, column: str) -> MapField:
    f = dm.resolve("app", table, column)
    assert f is not None, f"{table}.{column} is not in the map"
    return f  # type: ignore[no-any-return]


def _cats(dm: DataMap, table: str) -> dict[str, str]:
    return {f.name: f.categories[0] for f in dm.resolve("app", table).fields if f.categories}


def _stamps(dm: DataMap) -> dict[str, str]:
    return {t.name: f.name for _, t in dm.tables() for f in t.fields if f.retention_timestamp}


def _assert_no_fan_out(proposal: Proposal, dm: DataMap) -> None:
    """Every followed edge stays within the rows of one person (or one other subject)."""
    shape = proposal.shape
    roots = {t for t, r in shape.roles.items() if r in (Role.person, Role.subject)}

    def owner(table: str) -> str | None:
        return table if table in roots else shape.owner.get(table)

    graph = Graph.build(dm)
    assert graph.edges
    for edge in graph.edges:
        src, dst = edge.src.table, edge.dst.table
        assert shape.role(src) in (Role.person, Role.subject, Role.owned), edge
        assert owner(src) is not None, edge
        assert owner(src) == owner(dst), edge
        assert shape.role(dst) is not Role.link or edge.kind is RefKind.link, edge
        assert src != dst, edge
    # every proposal is marked for review
    for _, t in dm.tables():
        assert (t.description or "").startswith("guess: "), t.name
        for f in t.fields:
            if f.categories or f.identity or f.references or f.retention_timestamp:
                assert f.guess, f"{t.name}.{f.name}"
            for r in f.references:
                assert (r.note or "").startswith("guess: "), f"{t.name}.{f.name}"


def test_chinook_like_schema(db_url: str, tmp_path: Path) -> None:
    create_schema(db_url, "chinook")
    proposal = propose(_schema(db_url), dataset="app", connection="chinook")
    dm = _round_trip(proposal, tmp_path)
    roles = proposal.shape.roles
    assert roles["Customer"] is Role.person
    assert roles["Employee"] is Role.subject
    assert roles["Invoice"] is roles["InvoiceLine"] is Role.owned
    assert {t for t, r in roles.items() if r is Role.lookup} == {
        "Album",
        "Artist",
        "Genre",
        "MediaType",
        "Playlist",
        "PlaylistTrack",
        "Track",
    }
    # CamelCase names, split into words before matching
    assert _cats(dm, "Customer") == {
        "FirstName": "user.name.first",
        "LastName": "user.name.last",
        "Company": "user.contact.organization",
        "Address": "user.contact.address.street",
        "City": "user.contact.address.city",
        "State": "user.contact.address.state",
        "Country": "user.contact.address.country",
        "PostalCode": "user.contact.address.postal_code",
        "Phone": "user.contact.phone_number",
        "Fax": "user.contact.fax_number",
        "Email": "user.contact.email",
    }
    assert _field(dm, "Customer", "Email").identity == "email"
    assert _field(dm, "Customer", "Phone").identity == "phone"
    assert _cats(dm, "Invoice") == {
        "BillingAddress": "user.contact.address.street",
        "BillingCity": "user.contact.address.city",
        "BillingState": "user.contact.address.state",
        "BillingCountry": "user.contact.address.country",
        "BillingPostalCode": "user.contact.address.postal_code",
    }
    emp = _cats(dm, "Employee")
    assert emp["Title"] == "user.job_title"
    assert emp["BirthDate"] == "user.demographic.date_of_birth"
    assert dm.resolve("app", "Employee").subject == "employee"
    # employees are reached by their own identity, never by a customer's request
    assert _field(dm, "Employee", "Email").identity == "employee_email"
    assert dm.identities["employee_email"].kind is IdentityKind.email
    # a track's, an artist's or a playlist's name is not a person's
    for table in ("Track", "Artist", "Genre", "Playlist"):
        assert _cats(dm, table) == {}, table
    assert _ref(dm, "Invoice", "CustomerId") == ("app.Customer.CustomerId", RefKind.owns)
    assert _ref(dm, "InvoiceLine", "InvoiceId") == ("app.Invoice.InvoiceId", RefKind.owns)
    assert _ref(dm, "InvoiceLine", "TrackId") == ("app.Track.TrackId", RefKind.refers)
    assert _ref(dm, "Customer", "SupportRepId") == ("app.Employee.EmployeeId", RefKind.refers)
    assert _ref(dm, "Employee", "ReportsTo") == ("app.Employee.EmployeeId", RefKind.refers)
    assert _ref(dm, "PlaylistTrack", "TrackId")[1] is RefKind.refers
    assert _stamps(dm) == {"Invoice": "InvoiceDate", "Employee": "HireDate"}
    graph = Graph.build(dm)
    assert graph.dangling == []
    assert graph.unreachable_tables() == []
    assert graph.reachable_from_identities(["email"]) == {
        TableId("app", t) for t in ("Customer", "Invoice", "InvoiceLine")
    }
    assert graph.reachable_from_identities(["employee_email"]) == {TableId("app", "Employee")}
    _assert_no_fan_out(proposal, dm)


def test_multi_tenant_helpdesk_schema(db_url: str, tmp_path: Path) -> None:
    create_schema(db_url, "helpdesk")
    proposal = propose(_schema(db_url), dataset="app", connection="helpdesk")
    dm = _round_trip(proposal, tmp_path)
    roles = proposal.shape.roles
    assert roles == {
        "users": Role.person,
        "agents": Role.subject,
        "tenants": Role.hub,
        "statuses": Role.lookup,
        "tags": Role.lookup,
        "tickets": Role.owned,
        "ticket_comments": Role.owned,
        "audit_log": Role.owned,
        "user_preferences": Role.owned,
        "ticket_tags": Role.link,
        "ticket_watchers": Role.link,
    }
    # the person rows carry the tenant: every table of a person that has the column is scoped
    scoped = {t.name: t.scope for _, t in dm.tables() if t.scope}
    assert scoped == {
        name: {"tenant": "tenant_id"} for name in ("users", "agents", "tickets", "audit_log")
    }
    assert _cats(dm, "users") == {
        "email": "user.contact.email",
        "name": "user.name",
        "phone": "user.contact.phone_number",
        "company": "user.contact.organization",
        "jobTitle": "user.job_title",
        "FAX_NUMBER": "user.contact.fax_number",
    }
    assert _field(dm, "users", "email").identity == "email"
    # last_login is a time, never a user name
    assert _field(dm, "users", "last_login").categories == []
    assert _field(dm, "agents", "email").identity == "agent_email"
    assert dm.resolve("app", "agents").subject == "employee"
    for table in ("tenants", "tags", "statuses"):
        assert _cats(dm, table) == {}, table  # a tenant's or a tag's name is not personal
    assert _cats(dm, "tickets") == {
        "subject": "user.content.private",
        "description": "user.content.private",
    }
    assert _cats(dm, "ticket_comments") == {"body": "user.content.private"}
    assert _cats(dm, "audit_log") == {
        "ip_address": "user.device.ip_address",
        "message": "user.content.private",
    }
    meta = _field(dm, "tickets", "metadata")
    assert meta.guess
    assert "json:" in (meta.description or "")
    refs = {(t.name, f.name): r.kind for _, t, f in dm.fields() for r in f.references}
    assert refs == {
        ("users", "tenant_id"): RefKind.refers,  # a hub
        ("agents", "tenant_id"): RefKind.refers,
        ("tags", "tenant_id"): RefKind.refers,
        ("audit_log", "tenant_id"): RefKind.refers,
        ("tickets", "tenant_id"): RefKind.refers,
        ("tickets", "requester_id"): RefKind.owns,
        ("tickets", "assignee_id"): RefKind.refers,  # an agent: another kind of subject
        ("tickets", "merged_into"): RefKind.refers,  # a self-reference
        ("tickets", "status"): RefKind.refers,  # a lookup table
        ("ticket_comments", "ticket_id"): RefKind.owns,
        ("ticket_tags", "ticket_id"): RefKind.link,
        ("ticket_tags", "tag_id"): RefKind.refers,
        ("ticket_watchers", "ticket_id"): RefKind.link,
        ("ticket_watchers", "user_id"): RefKind.link,
        ("audit_log", "user_id"): RefKind.owns,
        ("user_preferences", "user_id"): RefKind.owns,  # part of a composite key: not 1:1
    }
    assert _stamps(dm) == {
        "users": "last_login",
        "agents": "created_at",
        "tickets": "last_activity_at",
        "ticket_comments": "sent_at",
        "ticket_watchers": "added_at",
        "audit_log": "occurred_at",
        "user_preferences": "updated_at",
    }
    assert dm.resolve("app", "user_preferences").primary_key() == ["user_id", "pref_key"]
    assert dm.resolve("app", "audit_log").primary_key() == []
    assert "no primary key" in (dm.resolve("app", "audit_log").description or "")
    graph = Graph.build(dm)
    assert graph.dangling == []
    assert graph.unreachable_tables() == []
    assert graph.reachable_from_identities(["email", "phone"]) == {
        TableId("app", t)
        for t in (
            "users",
            "tickets",
            "ticket_comments",
            "ticket_tags",
            "ticket_watchers",
            "audit_log",
            "user_preferences",
        )
    }
    assert graph.reachable_from_identities(["agent_email"]) == {TableId("app", "agents")}
    _assert_no_fan_out(proposal, dm)


@pytest.mark.parametrize("example", ["mydigisoft", "plus"])
def test_introspect_demo_schema_round_trips(db_url: str, example: str, tmp_path: Path) -> None:
    create_demo_db(db_url, example, customers=5)
    schema = _schema(db_url)
    assert "troth_demo_seq" not in {t.name for t in schema.tables}
    proposal = propose(schema, dataset="app", connection="demo")
    dm = _round_trip(proposal, tmp_path)
    if example == "mydigisoft":
        assert _ref(dm, "orders", "customer_id") == ("app.customers.id", RefKind.owns)
        assert _ref(dm, "order_items", "order_id") == ("app.orders.id", RefKind.owns)
        assert _ref(dm, "customers", "country") == ("app.countries.code", RefKind.refers)
        assert _ref(dm, "marketing_preferences", "customer_id") == (
            "app.customers.id",
            RefKind.same_person,  # its key is the customer's key: one-to-one
        )
        email = _field(dm, "customers", "email")
        assert email.categories == ["user.contact.email"]
        assert email.guess
        assert email.identity == "email"
        assert _field(dm, "customers", "phone").identity == "phone"
        assert _field(dm, "customers", "id").primary_key
        # an email column outside the main person table is guessed but is not an identity
        req = _field(dm, "support_tickets", "requester_email")
        assert req.guess
        assert req.identity is None
        assert _cats(dm, "support_tickets")["body"] == "user.content.private"
        assert _cats(dm, "countries") == {}  # a lookup table: its `name` is not a person's
        assert _stamps(dm)["customers"] == "last_login"  # the last activity, not creation
        assert _stamps(dm)["orders"] == "created_at"
        assert _cats(dm, "trade_compliance_checks")["ip_address"] == "user.device.ip_address"
        unguessed = _field(dm, "orders", "status")
        assert not unguessed.guess
        assert unguessed.categories == []
    else:
        assert _cats(dm, "accounts")["password_hash"] == "user.authorization.credentials"
        assert _cats(dm, "accounts")["company"] == "user.contact.organization"
        assert _field(dm, "accounts", "email").identity == "email"
        # the business's CRM contacts are other people: never reached from an account
        assert proposal.shape.roles["crm_contacts"] is Role.subject
        assert _ref(dm, "chat_messages", "contact_id") == ("app.crm_contacts.id", RefKind.refers)
        assert _ref(dm, "crm_contacts", "account_id") == ("app.accounts.id", RefKind.refers)
        assert _ref(dm, "chat_messages", "account_id") == ("app.accounts.id", RefKind.owns)
        assert _ref(dm, "sessions", "device_id") == ("app.devices.id", RefKind.owns)
        assert _field(dm, "crm_contacts", "email").identity == "crm_contact_email"
    graph = Graph.build(dm)
    assert graph.dangling == []
    assert graph.unreachable_tables() == []  # every personal table hangs off an identity
    main = "customers" if example == "mydigisoft" else "accounts"
    assert TableId("app", main) in graph.identity_tables()
    _assert_no_fan_out(proposal, dm)


def test_skeleton_is_the_proposed_map(sqlite_url: str) -> None:
    create_schema(sqlite_url, "helpdesk")
    schema = _schema(sqlite_url)
    assert skeleton(schema, dataset="app", connection="x") == (
        propose(schema, dataset="app", connection="x").datamap
    )


def test_schema_sql_has_no_engine_specific_syntax() -> None:
    for example in ("mydigisoft", "plus"):
        for stmt in schema_statements(example):
            assert stmt.startswith("CREATE TABLE")
            for word in ("SERIAL", "AUTOINCREMENT", "AUTO_INCREMENT", "ENGINE=", "BOOLEAN"):
                assert word not in stmt


def test_introspect_command_prints_the_map_and_a_plain_summary(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_schema(sqlite_url, "helpdesk")
    assert main(["datamap", "introspect", sqlite_url, "--dataset", "app"]) == 0
    out, err = capsys.readouterr()
    dm = load_datamap("datamap.yaml", text=out).datamap  # stdout is the map alone
    assert dm.resolve("app", "tickets", "requester_id").references[0].kind is RefKind.owns
    # every reference says its kind, `refers` too (a decision to review like any other)
    raw = yaml.safe_load(out)["systems"][0]["datasets"][0]["tables"]
    tickets = next(t for t in raw if t["name"] == "tickets")
    tenant_id = next(f for f in tickets["fields"] if f["name"] == "tenant_id")
    assert tenant_id["references"][0]["kind"] == "refers"
    # the summary (stderr, not a terminal): plain lines, nothing cut at 80 columns
    lines = err.splitlines()
    users = next(line for line in lines if line.startswith("users "))
    assert users.split() == [
        "users",
        "person",
        "6:",
        "identities",
        "email",
        "(email),",
        "phone",
        "(phone)",
        "refers",
        "1",
        "tenant:",
        "tenant_id",
        "last_login",
    ]
    assert max(len(line) for line in lines) > 80
    assert not any(c in err for c in "│─━┃…")
    assert lines[-1].startswith("37 fields marked `guess: true`")

"""Column-name guesses in any case style, and reference kinds from a schema's shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from troth.connectors.base import ColumnInfo, ForeignKeyInfo, SchemaInfo, TableInfo
from troth.datamap.guesses import Guess, Scope, guess_column, is_json, snake, timestamp_rank, words
from troth.datamap.introspect import Role, propose
from troth.datamap.model import DataMap, RefKind


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("email", "user.contact.email"),
        ("Email", "user.contact.email"),
        ("EMAIL_ADDRESS", "user.contact.email"),
        ("contactEmail", "user.contact.email"),
        ("tel", "user.contact.phone_number"),
        ("mobile_number", "user.contact.phone_number"),
        ("Fax", "user.contact.fax_number"),
        ("fax_number", "user.contact.fax_number"),
        ("first_name", "user.name.first"),
        ("FirstName", "user.name.first"),
        ("lastName", "user.name.last"),
        ("lastname", "user.name.last"),
        ("zip", "user.contact.address.postal_code"),
        ("PostalCode", "user.contact.address.postal_code"),
        ("BILLING_POSTAL_CODE", "user.contact.address.postal_code"),
        ("BillingAddress", "user.contact.address.street"),
        ("address_line2", "user.contact.address.street"),
        ("company", "user.contact.organization"),
        ("CompanyName", "user.contact.organization"),
        ("employer", "user.workplace"),
        ("pass_hash", "user.authorization.credentials"),
        ("dob", "user.demographic.date_of_birth"),
        ("BirthDate", "user.demographic.date_of_birth"),
        ("ip", "user.device.ip_address"),
        ("IPAddress", "user.device.ip_address"),
        ("last_login_ip", "user.device.ip_address"),
        ("login", "user.account.username"),
        ("UserName", "user.account.username"),
        ("name", "user.name"),
        ("body", "user.content.private"),
        ("description", "user.content.private"),
        ("message", "user.content.private"),
        ("comment", "user.content.private"),
        ("internal_notes", "user.content.private"),
        # timestamps, never names
        ("last_login", None),
        ("lastLoginAt", None),
        ("email_verified_at", None),
        # near-misses: nothing is guessed
        ("emailed", None),
        ("telemetry", None),
        ("zipper", None),
        ("shipping_method", None),
        ("mac_address", None),
        ("status", None),
        ("content_type", None),
    ],
)
def test_column_name_guesses(name: str, category: str | None) -> None:
    g = guess_column(name)
    assert (g.category if g else None) == category


@pytest.mark.parametrize(
    "name",
    [
        "OrderDate",
        "InvoiceDate",
        "last_activity_at",
        "sent_at",
        "created_at",
        "last_login",
        "LAST_SEEN",
        "createdOn",
        "updated",
        "HireDate",
    ],
)
def test_timestamps_by_name(name: str) -> None:
    g = guess_column(name)
    assert g == Guess(timestamp=True)


def test_timestamps_by_type_and_what_is_not_one() -> None:
    by_type = guess_column("closed", "timestamp without time zone")
    assert by_type == Guess(timestamp=True)
    assert guess_column("closed", "varchar(20)") is None
    dob = guess_column("date_of_birth", "date")
    assert dob == Guess("user.demographic.date_of_birth")


def test_where_a_guess_holds() -> None:
    """`name` only on a table of people; an address or free text on any table of a person."""
    assert guess_column("name").scope is Scope.people  # type: ignore[union-attr]
    assert guess_column("title").scope is Scope.people  # type: ignore[union-attr]
    assert guess_column("PostalCode").scope is Scope.person_rows  # type: ignore[union-attr]
    assert guess_column("notes").scope is Scope.person_rows  # type: ignore[union-attr]
    assert guess_column("email").scope is Scope.anywhere  # type: ignore[union-attr]
    assert guess_column("State") == Guess(
        "user.contact.address.state", Scope.person_rows, needs_address=True
    )


def test_retention_candidates_rank() -> None:
    assert timestamp_rank("last_activity_at", "tickets") == 0
    assert timestamp_rank("InvoiceDate", "Invoice") == 1
    assert timestamp_rank("order_date", "orders") == 1
    assert timestamp_rank("created_at", "tickets") == 2
    assert timestamp_rank("sent_at", "messages") == 2
    assert timestamp_rank("updated_at", "tickets") == 3
    assert timestamp_rank("HireDate", "Employee") == 4
    assert timestamp_rank("expires_at", "sessions") == 5  # never proposed


def test_json_columns() -> None:
    assert is_json("metadata", "jsonb")
    assert is_json("anything", "json")
    assert is_json("metadata", "longtext")  # MariaDB stores JSON as LONGTEXT
    assert is_json("custom_fields", "text")
    assert not is_json("notes", "longtext")
    assert not is_json("metadata", "integer")


# one-letter words are ambiguous in CamelCase ("AB" is an acronym), as for a person
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)


@given(st.lists(_WORD, min_size=1, max_size=5))
def test_words_are_the_same_in_every_case_style(parts: list[str]) -> None:
    snake_name = "_".join(parts)
    camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
    pascal = "".join(p.capitalize() for p in parts)
    for name in (snake_name, snake_name.upper(), camel, pascal, "-".join(parts)):
        assert words(name) == tuple(parts), name
    assert snake(pascal) == snake_name


def test_words_split_acronyms() -> None:
    assert words("IPAddress") == ("ip", "address")
    assert words("SupportRepId") == ("support", "rep", "id")
    assert words("address_line2") == ("address", "line2")


def _t(
    name: str,
    cols: str,
    pk: str = "",
    fks: tuple[tuple[str, str, str], ...] = (),
) -> TableInfo:
    return TableInfo(
        name,
        tuple(
            ColumnInfo(c, "timestamp" if c.endswith("_at") else "varchar(80)") for c in cols.split()
        ),
        tuple(pk.split()),
        tuple(ForeignKeyInfo((c,), t, (r,)) for c, t, r in fks),
    )


def _kinds(dm: DataMap) -> dict[tuple[str, str], RefKind]:
    return {(t.name, f.name): r.kind for _, t, f in dm.fields() for r in f.references}


def test_a_workspace_owned_by_a_user_is_a_hub_and_never_followed() -> None:
    schema = SchemaInfo(
        (
            _t("users", "id email workspace_id", "id", (("workspace_id", "workspaces", "id"),)),
            _t("workspaces", "id name owner_id", "id", (("owner_id", "users", "id"),)),
            _t(
                "documents",
                "id workspace_id author_id body created_at",
                "id",
                (("workspace_id", "workspaces", "id"), ("author_id", "users", "id")),
            ),
        )
    )
    p = propose(schema, dataset="app", connection="x")
    assert p.shape.roles["workspaces"] is Role.hub
    assert _kinds(p.datamap) == {
        ("users", "workspace_id"): RefKind.refers,
        ("workspaces", "owner_id"): RefKind.refers,  # else: the owner reaches the workspace
        ("documents", "workspace_id"): RefKind.refers,
        ("documents", "author_id"): RefKind.owns,
    }
    assert p.datamap.resolve("app", "users").scope == {"workspace": "workspace_id"}
    assert p.datamap.resolve("app", "documents").scope == {"workspace": "workspace_id"}
    assert p.datamap.resolve("app", "workspaces").scope == {}


def test_a_second_person_on_a_row_is_not_followed() -> None:
    schema = SchemaInfo(
        (
            _t("users", "id email", "id"),
            _t(
                "messages",
                "id recipient_id sender_id body",
                "id",
                (("recipient_id", "users", "id"), ("sender_id", "users", "id")),
            ),
            _t("profiles", "user_id bio", "user_id", (("user_id", "users", "id"),)),
        )
    )
    kinds = _kinds(propose(schema, dataset="app", connection="x").datamap)
    assert kinds[("messages", "sender_id")] is RefKind.owns
    assert kinds[("messages", "recipient_id")] is RefKind.refers
    assert kinds[("profiles", "user_id")] is RefKind.same_person


def test_a_tenant_column_without_a_foreign_key_still_scopes() -> None:
    schema = SchemaInfo(
        (
            _t("customers", "id tenant_id email name", "id"),
            _t(
                "orders",
                "id tenant_id customer_id created_at",
                "id",
                (("customer_id", "customers", "id"),),
            ),
            _t("products", "id tenant_id name", "id"),
        )
    )
    dm = propose(schema, dataset="app", connection="x").datamap
    scopes = {t.name: t.scope for _, t in dm.tables()}
    assert scopes == {
        "customers": {"tenant": "tenant_id"},
        "orders": {"tenant": "tenant_id"},
        "products": {},  # not a person's rows
    }


def test_a_table_most_tables_point_at_is_a_hub() -> None:
    schema = SchemaInfo(
        (
            _t("users", "id email project_id", "id", (("project_id", "projects", "id"),)),
            _t("projects", "id name", "id"),
            _t(
                "files",
                "id project_id user_id",
                "id",
                (("project_id", "projects", "id"), ("user_id", "users", "id")),
            ),
            _t("boards", "id project_id", "id", (("project_id", "projects", "id"),)),
        )
    )
    p = propose(schema, dataset="app", connection="x")
    assert p.shape.roles["projects"] is Role.hub
    assert p.datamap.resolve("app", "users").scope == {"project": "project_id"}
    assert _kinds(p.datamap)[("files", "user_id")] is RefKind.owns


def test_the_persons_own_contact_table_is_owned_other_contacts_are_people() -> None:
    schema = SchemaInfo(
        (
            _t("customers", "id email name", "id"),
            _t(
                "customer_contacts",
                "id customer_id email phone",
                "id",
                (("customer_id", "customers", "id"),),
            ),
            _t(
                "contacts",
                "id customer_id email first_name",
                "id",
                (("customer_id", "customers", "id"),),
            ),
        )
    )
    p = propose(schema, dataset="app", connection="x")
    assert p.shape.roles["customer_contacts"] is Role.owned
    assert p.shape.roles["contacts"] is Role.subject
    kinds = _kinds(p.datamap)
    assert kinds[("customer_contacts", "customer_id")] is RefKind.owns
    assert kinds[("contacts", "customer_id")] is RefKind.refers
    assert p.datamap.resolve("app", "contacts", "email").identity == "contact_email"
    assert p.datamap.resolve("app", "customer_contacts", "email").identity is None

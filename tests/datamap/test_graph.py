"""The identity/reference graph: reachability across datasets, cycles, self-refs, many-to-many."""

from __future__ import annotations

from typing import Any

from troth.datamap.graph import Edge, FieldId, Graph, TableId
from troth.datamap.model import DataMap, RefKind


def f(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, **kw}


def ref(target: str, kind: str | None = None) -> dict[str, Any]:
    return {"field": target, **({"kind": kind} if kind else {})}


def dmap(**datasets: list[dict[str, Any]]) -> DataMap:
    return DataMap.model_validate(
        {
            "systems": [
                {
                    "name": "s",
                    "datasets": [
                        {"name": name, "connection": name, "tables": tables}
                        for name, tables in datasets.items()
                    ],
                }
            ]
        }
    )


def T(d: str, t: str) -> TableId:
    return TableId(d, t)


PERSONAL = ["user.name"]


def test_reference_kinds_say_which_way_a_request_walks() -> None:
    g = Graph.build(
        dmap(
            app=[
                {"name": "users", "fields": [f("id"), f("email", identity="email")]},
                {
                    "name": "orders",
                    "fields": [f("id"), f("user_id", references=[ref("users.id", "owns")])],
                },
                {
                    "name": "profiles",
                    "fields": [f("id"), f("user_id", references=[ref("users.id", "same_person")])],
                },
                # a hub: the tenant is never followed, so its other customers are not reached
                {"name": "tenants", "fields": [f("id"), f("admin_email", categories=PERSONAL)]},
                {
                    "name": "coupons",
                    "fields": [f("code"), f("tenant_id", references=[ref("tenants.id")])],
                },
            ]
        )
    )
    users = FieldId("app", "users", "id")
    orders = FieldId("app", "orders", "user_id")
    assert Edge(users, orders, RefKind.owns) in g.edges
    assert g.edges_from(T("app", "orders")) == []  # owns: orders never lead back to users
    # same_person: followed both ways
    assert {e.dst for e in g.edges_from(T("app", "profiles"))} == {users}
    # refers (the default): not an edge, but a link kept for foreign-key safety
    assert not any(e.dst.table == "tenants" or e.src.table == "tenants" for e in g.edges)
    assert [str(lk.child) for lk in g.links_to(T("app", "tenants"))] == ["app.coupons.tenant_id"]
    assert g.reachable_from_identities() == {
        T("app", "users"),
        T("app", "orders"),
        T("app", "profiles"),
    }
    assert g.unreachable_tables() == [T("app", "tenants")]


def test_cycle_and_self_reference_terminate() -> None:
    g = Graph.build(
        dmap(
            app=[
                {
                    "name": "people",
                    "fields": [
                        f("id"),
                        f("email", identity="email"),
                        # a referral names another person: never followed
                        f("referred_by", categories=PERSONAL, references=[ref("people.id")]),
                        f("team_id", references=[ref("teams.id")]),
                    ],
                },
                {
                    "name": "folders",
                    "fields": [
                        f("id"),
                        f("owner_id", references=[ref("people.id", "owns")]),
                        # sub-folders belong to the folder's owner: a self-reference followed
                        f("parent_id", references=[ref("folders.id", "owns")]),
                        f("title", categories=PERSONAL),
                    ],
                },
                {
                    "name": "teams",
                    "fields": [
                        f("id"),
                        f("lead_id", categories=PERSONAL, references=[ref("people.id")]),
                    ],
                },
            ]
        )
    )
    assert g.reachable_from_identities() == {T("app", "people"), T("app", "folders")}
    self_edges = [e for e in g.edges if e.src.table_id == e.dst.table_id]
    assert [(str(e.src), str(e.dst)) for e in self_edges] == [
        ("app.folders.id", "app.folders.parent_id")
    ]
    # the team lead column is personal, and no walk reaches teams: reported
    assert g.unreachable_tables() == [T("app", "teams")]


def test_many_to_many_links_and_cross_dataset_references() -> None:
    g = Graph.build(
        dmap(
            app=[
                {"name": "accounts", "fields": [f("id"), f("email", identity="email")]},
                {
                    "name": "account_groups",
                    "fields": [
                        f("account_id", references=[ref("accounts.id", "link")]),
                        f("group_id", references=[ref("groups.id", "link")]),
                    ],
                },
                {"name": "groups", "fields": [f("id"), f("title")]},
            ],
            crm=[
                # a link the database does not declare: crm contacts carry the app account id
                {
                    "name": "contacts",
                    "fields": [
                        f(
                            "account",
                            categories=PERSONAL,
                            references=[ref("app.accounts.id", "owns")],
                        )
                    ],
                },
                {"name": "notes", "fields": [f("text", categories=PERSONAL)]},
            ],
        )
    )
    reached = g.reachable_from_identities()
    # the link row is reached; the request never walks past it to the group (the other side)
    assert {T("app", "account_groups"), T("crm", "contacts")} <= reached
    assert T("app", "groups") not in reached
    assert g.unreachable_tables() == [T("crm", "notes")]
    assert [e.src.table for e in g.path_to(T("crm", "contacts"))] == ["accounts"]


def test_json_array_identities_are_mentions() -> None:
    g = Graph.build(
        dmap(
            app=[
                {"name": "users", "fields": [f("id"), f("email", identity="email")]},
                {
                    "name": "tickets",
                    "fields": [
                        f("id"),
                        f(
                            "meta",
                            json=[{"path": "cc[]", "identity": "email"}],
                        ),
                    ],
                },
            ]
        )
    )
    mention = next(r for r in g.identity_refs if r.path)
    assert mention.mention
    assert mention.describe() == "app.tickets.meta at cc[]"
    assert g.identity_tables() == {T("app", "users")}  # a mention does not make the row theirs
    assert g.unreachable_tables() == []  # its only personal value is at the mentioned path


def test_identity_selection_and_non_personal_tables() -> None:
    g = Graph.build(
        dmap(
            app=[
                {"name": "users", "fields": [f("email", identity="email")]},
                {"name": "phones", "fields": [f("phone", identity="phone")]},
                {"name": "products", "fields": [f("sku")]},
            ]
        )
    )
    assert g.reachable_from_identities(["phone"]) == {T("app", "phones")}
    assert g.unreachable_tables() == []  # products hold no personal data
    assert g.unreachable_tables(personal_only=False) == [T("app", "products")]


def test_dangling_references_are_collected_not_followed() -> None:
    g = Graph.build(
        dmap(
            app=[
                {
                    "name": "orders",
                    "fields": [
                        f("a", references=[ref("nosuch.t.f")]),
                        f("b", references=[ref("customers.id")]),
                        f("c", references=[ref("orders.nosuch")]),
                    ],
                }
            ]
        )
    )
    assert [d.missing for d in g.dangling] == ["dataset", "table", "field"]
    assert g.edges == []

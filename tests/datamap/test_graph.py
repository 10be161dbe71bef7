"""The identity/reference graph: reachability across datasets, cycles, self-refs, many-to-many."""

from __future__ import annotations

from typing import Any

from troth.datamap.graph import Edge, FieldId, Graph, TableId
from troth.datamap.model import DataMap


def f(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, **kw}


def ref(target: str, direction: str | None = None) -> dict[str, Any]:
    return {"field": target, **({"direction": direction} if direction else {})}


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


def test_references_follow_their_direction() -> None:
    g = Graph.build(
        dmap(
            app=[
                {"name": "users", "fields": [f("id"), f("email", identity="email")]},
                {
                    "name": "orders",
                    "fields": [f("id"), f("user_id", references=[ref("users.id", "from")])],
                },
                {
                    "name": "coupons",
                    "fields": [f("code"), f("user_id", references=[ref("users.id", "to")])],
                },
            ]
        )
    )
    assert Edge(FieldId("app", "users", "id"), FieldId("app", "orders", "user_id")) in g.edges
    assert g.edges_from(T("app", "orders")) == []  # `from`: orders do not lead back to users
    # `to`: coupons lead to users, but users do not lead to coupons
    assert g.edges_from(T("app", "coupons"))[0].dst == FieldId("app", "users", "id")
    assert g.reachable_from_identities() == {T("app", "users"), T("app", "orders")}


def test_cycle_and_self_reference_terminate() -> None:
    g = Graph.build(
        dmap(
            app=[
                {
                    "name": "people",
                    "fields": [
                        f("id"),
                        f("email", identity="email"),
                        f("referred_by", categories=PERSONAL, references=[ref("people.id")]),
                        f("team_id", references=[ref("teams.id")]),
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
    assert g.reachable_from_identities() == {T("app", "people"), T("app", "teams")}
    self_edges = [e for e in g.edges if e.src.table_id == e.dst.table_id]
    assert {str(e.src) for e in self_edges} == {"app.people.id", "app.people.referred_by"}
    assert g.unreachable_tables() == []


def test_many_to_many_and_cross_dataset_links() -> None:
    g = Graph.build(
        dmap(
            app=[
                {"name": "accounts", "fields": [f("id"), f("email", identity="email")]},
                {
                    "name": "account_groups",
                    "fields": [
                        f("account_id", references=[ref("accounts.id", "from")]),
                        f("group_id", references=[ref("groups.id", "to")]),
                    ],
                },
                {"name": "groups", "fields": [f("id"), f("title", categories=PERSONAL)]},
            ],
            crm=[
                # a link the database does not declare: crm contacts carry the app account id
                {
                    "name": "contacts",
                    "fields": [
                        f(
                            "account",
                            categories=PERSONAL,
                            references=[ref("app.accounts.id", "from")],
                        )
                    ],
                },
                {"name": "notes", "fields": [f("text", categories=PERSONAL)]},
            ],
        )
    )
    reached = g.reachable_from_identities()
    assert {T("app", "account_groups"), T("app", "groups"), T("crm", "contacts")} <= reached
    assert g.unreachable_tables() == [T("crm", "notes")]


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

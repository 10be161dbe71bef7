"""The planner: order, lookups, cycles, self-references, many-to-many, several datasets and
identities, foreign-key-safe erasure order, legal holds, SQL with placeholders only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from troth.datamap.graph import TableId
from troth.datamap.loader import load_datamap
from troth.datamap.model import DataMap
from troth.dsr.plan import build_plan
from troth.errors import RequestError
from troth.project import load_project

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GRAPH_MAP = """\
systems:
  - name: app
    datasets:
      - name: shop
        connection: shop_db
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email], mask: hash}
              - {name: phone, identity: phone, categories: [user.contact.phone_number]}
              # an older account merged into this one belongs to the same person
              - name: merged_into
                references: [{field: customers.id, kind: owns}]
          - name: groups
            fields:
              - {name: id, primary_key: true}
              - {name: name}
          - name: customer_groups   # many-to-many link
            erase: delete_row
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - name: group_id
                references: [{field: groups.id, kind: refers}]
          - name: orders
            erase: delete_row
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - {name: note, categories: [user.content.private], mask: redact}
          - name: order_items
            erase: delete_row
            fields:
              - {name: id, primary_key: true}
              - name: order_id
                references: [{field: orders.id, kind: owns}]
      - name: crm
        connection: crm_db
        tables:
          - name: contacts
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email], mask: "null"}
              # the CRM knows the shop's customer id: a cycle back into the shop dataset
              - name: shop_customer_id
                references: [{field: shop.customers.id, kind: same_person}]
              - name: vat_id
                legal_holds:
                  - {id: tax, reason: VAT ids kept for tax law, law: VAT Directive}
                mask: redact
"""


def _map(text: str = GRAPH_MAP) -> DataMap:
    return load_datamap("datamap.yaml", None, text=textwrap.dedent(text)).datamap


def test_steps_follow_references_once_each_table_with_all_lookups() -> None:
    plan = build_plan(_map(), ["email"], "access")
    tables = [str(s.table) for s in plan.steps]
    assert tables[:2] == ["crm.contacts", "shop.customers"]
    assert len(tables) == len(set(tables)) == 5  # groups is only referred to
    customers = plan.step(TableId("shop", "customers"))
    sources = {(lk.column, lk.describe()) for lk in customers.lookups}
    assert sources == {
        ("email", "identity email"),
        ("id", "crm.contacts.shop_customer_id (same_person)"),
        ("merged_into", "shop.customers.id (owns)"),  # self-reference
    }
    # every step comes after the steps it takes values from, except along a cycle
    index = {s.table: s.index for s in plan.steps}
    items = plan.step(TableId("shop", "order_items"))
    assert index[TableId("shop", "orders")] < items.index


def test_cycles_and_self_references_make_the_plan_cyclic() -> None:
    assert build_plan(_map(), ["email"]).cyclic
    acyclic = build_plan(load_project(EXAMPLES / "mydigisoft").datamap.datamap, ["email"])  # type: ignore[union-attr]
    assert not acyclic.cyclic


def test_many_to_many_link_is_not_walked_past() -> None:
    plan = build_plan(_map(), ["phone"])
    tables = {str(s.table) for s in plan.steps}
    assert "shop.customer_groups" in tables
    assert "shop.groups" not in tables  # the other side of the link is not the person's
    link = plan.step(TableId("shop", "customer_groups"))
    assert link.yields == ()


def test_several_identities_and_datasets() -> None:
    plan = build_plan(_map(), ["email", "phone"])
    assert plan.identities == ("email", "phone")
    assert plan.connections == ("crm_db", "shop_db")
    customers = plan.step(TableId("shop", "customers"))
    assert {lk.identity for lk in customers.lookups if lk.identity} == {"email", "phone"}


def test_erase_order_deletes_children_before_parents_and_keeps_legal_holds() -> None:
    plan = build_plan(_map(), ["email"], "erase")
    order = [str(a.table) for a in plan.actions]
    assert order.index("shop.order_items") < order.index("shop.orders")
    assert order.index("shop.orders") < order.index("shop.customers")
    assert order.index("shop.customer_groups") < order.index("shop.customers")
    contacts = next(a for a in plan.actions if str(a.table) == "crm.contacts")
    assert contacts.action == "mask"
    assert contacts.masks == (("email", "null"),)  # vat_id is held
    assert [(k.field, k.reason) for k in contacts.kept] == [("vat_id", "VAT ids kept for tax law")]
    items = next(a for a in plan.actions if str(a.table) == "shop.order_items")
    assert items.sql == "DELETE FROM order_items WHERE order_items.id IN (:keys)"


def test_md_invoices_hold_keeps_orders_until_it_ends() -> None:
    """MD-5 / PL-11: purchase history kept where the law requires (invoices for tax law), and
    only as long: orders are deleted once their hold has ended, their lines with them."""
    dm = load_project(EXAMPLES / "mydigisoft").datamap
    assert dm is not None
    plan = build_plan(dm.datamap, ["email"], "erase")
    orders = next(a for a in plan.actions if str(a.table) == "shop.orders")
    assert orders.action == "delete_row"
    assert orders.kept[0].reason == "invoices are kept for tax law"
    assert orders.kept[0].until == "10 years since created_at"
    (hold,) = orders.holds
    assert (str(hold.period), hold.since, hold.via) == ("10 years", "created_at", None)
    items = next(a for a in plan.actions if str(a.table) == "shop.order_items")
    (line_hold,) = items.holds
    assert line_hold.via == ("order_id", "orders", "id")  # since orders.created_at
    # the held orders still point at their customer: customers is masked, never deleted
    assert next(a for a in plan.actions if str(a.table) == "shop.customers").action == "mask"


def test_plan_sql_has_placeholders_never_values() -> None:
    plan = build_plan(_map(), ["email"], "erase")
    text = repr(plan.to_dict())
    assert ":keys" in text
    assert "example.com" not in text
    for action in plan.actions:
        if action.action == "mask":
            assert action.sql is not None
            assert action.sql.startswith(f"UPDATE {action.table.table} SET")


def test_plan_sql_is_rendered_once_per_shape_and_follows_the_map() -> None:
    """The SQL text is cached by its inputs: the same map gives the same text objects, a map
    whose masks or scope changed gives the new text at once."""
    first = build_plan(_map(), ["email"], "erase")
    again = build_plan(_map(), ["email"], "erase")
    assert [s.sql for s in first.steps] == [s.sql for s in again.steps]
    pairs = [zip(x.sql, y.sql, strict=True) for x, y in zip(first.steps, again.steps, strict=True)]
    assert all(a is b for pair in pairs for a, b in pair)
    changed = GRAPH_MAP.replace(
        "{name: note, categories: [user.content.private], mask: redact}",
        "{name: note, categories: [user.content.private], mask: hash}",
    ).replace(
        "          - name: orders\n            erase: delete_row\n",
        "          - name: orders\n            scope: {tenant: tenant_id}\n",
    )
    plan = build_plan(_map(changed), ["email"], "erase")
    orders = next(a for a in plan.actions if a.table.table == "orders")
    assert orders.action == "mask"
    assert orders.sql is not None
    assert "sha256" in orders.sql.lower() or "hmac" in orders.sql.lower()
    step = plan.step(TableId("shop", "orders"))
    assert all("tenant_id = :tenant" in sql for sql in step.sql)


def test_unknown_identity_name_fails_with_the_valid_ones() -> None:
    with pytest.raises(RequestError, match="use one of: email, phone"):
        build_plan(_map(), ["passport"])

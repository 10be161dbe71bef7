"""Map checks: each one fires on a failing map and stays silent on the clean fixture."""

from __future__ import annotations

import pytest
from dm_helpers import SHOP, load_text, one_dataset, shop_policy

from troth.datamap.loader import load_datamap
from troth.policy.checks import CHECKS, Finding, run_checks

MAP_CHECKS = [
    "map.undeclared-category",
    "map.uncollected-category",
    "map.unreachable-table",
    "map.dangling-reference",
    "map.restricted-stored",
    "map.no-retention-timestamp",
]


def run(check_id: str, tables: str) -> list[Finding]:
    policy = shop_policy()
    dm = load_text(one_dataset(tables), policy.taxonomy, check_categories=False)
    return run_checks(policy, select=[check_id], datamap=dm).findings


@pytest.mark.parametrize("check_id", MAP_CHECKS)
def test_clean_map_has_no_findings(check_id: str) -> None:
    policy = shop_policy()
    dm = load_datamap(SHOP, policy.taxonomy)
    assert run_checks(policy, select=[check_id], datamap=dm).findings == []


def test_map_checks_are_registered_and_skip_without_a_map() -> None:
    assert set(MAP_CHECKS) <= set(CHECKS.names())
    report = run_checks(shop_policy(), select=MAP_CHECKS)
    assert report.findings == []
    assert report.checks_run == len(MAP_CHECKS)


def test_undeclared_category() -> None:
    (f,) = run(
        "map.undeclared-category",
        """\
        - name: customers
          fields:
            - name: email
              identity: email
              categories: [user.contact.emial]
        """,
    )
    assert f.where.endswith("datamap.yaml:11:30")
    assert "'user.contact.emial' is not a taxonomy key" in f.message
    assert "user.contact.email" in (f.fix or "")


def test_uncollected_category() -> None:
    (f,) = run(
        "map.uncollected-category",
        """\
        - name: customers
          fields:
            - name: email
              identity: email
              categories: [user.contact.email]
            - name: dob
              categories: [user.demographic.date_of_birth]
            - name: id
              categories: [system.operations]
        """,
    )
    assert "app.customers.dob holds 'user.demographic.date_of_birth'" in f.message
    assert "never says it collects" in f.message
    assert f.where.endswith("datamap.yaml:13:30")


def test_unreachable_table_is_named() -> None:
    (f,) = run(
        "map.unreachable-table",
        """\
        - name: customers
          fields:
            - name: email
              identity: email
        - name: tickets
          fields:
            - name: body
              categories: [user.name]
        """,
    )
    assert "table app.tickets holds personal data but no identity reaches it" in f.message
    assert f.where.endswith("datamap.yaml:11:19")


def test_dangling_reference() -> None:
    (f,) = run(
        "map.dangling-reference",
        """\
        - name: orders
          fields:
            - name: customer_id
              references:
                - field: app.customer.id
        """,
    )
    assert "references app.customer.id, but the map has no such table" in f.message
    assert f.where.endswith("datamap.yaml:11:28")


def test_restricted_source_data_stored() -> None:
    (f,) = run(
        "map.restricted-stored",
        """\
        - name: gmail_cache
          fields:
            - name: body
              categories: [user.content.private]
        """,
    )
    assert "stores 'user.content.private', data of restricted source 'google'" in f.message
    assert "storage: none" in f.message


def test_no_retention_timestamp() -> None:
    (f,) = run(
        "map.no-retention-timestamp",
        """\
        - name: customers
          fields:
            - name: email
              identity: email
              categories: [user.contact.email]
            - name: created_at
        """,
    )
    assert "retention rule 'customer_data'" in f.message
    assert "retention_timestamp: true" in (f.fix or "")

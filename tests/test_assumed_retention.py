"""Assumed retention periods of the examples: documented assumptions that sweeps and `prove`
enforce, while `troth check` still reports the published text's silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.datamap.demo import create_demo_db
from troth.errors import PolicyError
from troth.policy import load_policy
from troth.policy.checks import run_checks
from troth.project import load_project
from troth.retention.bind import bind_rules
from troth.retention.paths import ColumnRef, Join
from troth.retention.plan import Stores, build_plan

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_examples_assume_periods_and_check_still_reports_the_silence() -> None:
    for name in ("mydigisoft", "plus"):
        doc = load_policy(EXAMPLES / name)
        rules = doc.policy.retention
        assumed = [r for r in rules if r.assumed_period is not None]
        assert assumed, name
        for rule in assumed:
            assert rule.period is None  # the published text's silence is kept
            assert "assumed" in rule.assumptions["period"]
        findings = run_checks(doc).findings
        silent = [f for f in findings if f.check == "retention.no-period"]
        assert {f.message.split("'")[1] for f in silent} == {r.id for r in assumed}
        assert all("assumed period" in f.message for f in silent)


def test_an_assumed_period_needs_its_reason(tmp_path: Path) -> None:
    text = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    text = text.replace(
        """        the text says contact information is retained "for future reference" and gives no period;
        3 years is assumed (assumed_period) so the demo's sweeps and proof have a figure.
""",
        "",
    ).replace(
        "    assumptions:\n      period: >-\n      trigger:", "    assumptions:\n      trigger:"
    )
    (tmp_path / "policy.yaml").write_text(text)
    with pytest.raises(PolicyError, match=r"assumptions\.period"):
        load_policy(tmp_path / "policy.yaml")


def test_a_map_hold_anchored_in_an_owning_table_is_joined() -> None:
    project = load_project(EXAMPLES / "mydigisoft")
    assert project.datamap is not None
    result = bind_rules(project.policy.policy, project.datamap.datamap)
    items = next(b for b in result.bindings if b.table == "order_items")
    hold = next(h for h in items.holds if h.id == "invoice_lines")
    assert hold.anchor == ColumnRef("orders", "created_at", (Join("order_id", "orders", "id"),))


def test_the_demo_sweeps_have_figures(tmp_path: Path, troth_env: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(url, "mydigisoft", customers=100)
    project = load_project(EXAMPLES / "mydigisoft")
    stores = Stores({"TROTH_CONN_MYDIGISOFT_SHOP": url})
    try:
        plan = build_plan(project, stores, key=b"k" * 32)
    finally:
        stores.close()
    by_table = {i.binding.table: i for i in plan.items}
    assert set(by_table) == {"customers", "orders", "order_items", "support_tickets"}
    assert by_table["support_tickets"].delete > 0  # expired under the assumed 3 years
    assert by_table["order_items"].held > 0  # invoice lines kept for the tax law

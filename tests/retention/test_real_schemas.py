"""Retention on a multi-tenant helpdesk, on SQLite, PostgreSQL and MariaDB (issue #8).

Every row of every table is hashed before and after a run: exactly the rows the rules and holds
say changed, a second run changes nothing, and the plan's counts are the run's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.retention import helpdesk as hd
from tests.retention.kit import (
    KEY,
    assert_effects,
    create,
    plan,
    plan_totals,
    read_all,
    sweep,
    totals,
    write_project,
)

from troth.audit import Ledger
from troth.project import Project
from troth.retention import add_hold
from troth.store import open_store


@pytest.fixture
def desk(any_url: str, tmp_path: Path) -> tuple[str, Project, sa.Engine]:
    create(any_url, hd.DDL, hd.ROWS)
    project = write_project(tmp_path / "proj", hd.RULES, hd.DATAMAP)
    state = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    add_hold(state, KEY, identity="email", value=hd.HELD_EMAIL, reason="Case 7/26")
    return any_url, project, state


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_helpdesk_sweep_changes_exactly_the_due_rows_and_a_rerun_nothing(
    desk: tuple[str, Project, sa.Engine], batch_size: int
) -> None:
    url, project, state = desk
    before = read_all(url)
    report = sweep(project, state, hd.NOW, batch_size=batch_size)
    assert report.status == "done", report.error
    after = read_all(url)
    assert_effects(before, after, hd.fate)
    again = sweep(project, state, hd.NOW, batch_size=batch_size)
    assert again.status == "done"
    assert all(r.deleted == 0 and r.anonymised == 0 for r in again.results)
    assert read_all(url) == after


def test_helpdesk_plan_counts_are_the_run_counts(desk: tuple[str, Project, sa.Engine]) -> None:
    url, project, state = desk
    before = read_all(url)
    p = plan(project, state, hd.NOW)
    assert read_all(url) == before  # planning changes nothing
    assert plan_totals(p) == hd.COUNTS
    report = sweep(project, state, hd.NOW, batch_size=2)
    assert totals(report) == hd.COUNTS
    # children before parents, delete rules first
    order = [(r.rule_id, r.table) for r in report.results]
    assert order.index(("support", "ticket_tags")) < order.index(("support", "tickets"))
    assert order.index(("support", "tickets")) < order.index(("contacts", "customers"))
    assert order.index(("logs", "access_log")) < order.index(("contacts", "customers"))


def test_helpdesk_ledger_records_rows_kept_per_hold_without_values(
    desk: tuple[str, Project, sa.Engine],
) -> None:
    _url, project, state = desk
    sweep(project, state, hd.NOW)
    sweeps = {
        (e.data["rule_id"], e.data["table"]): e
        for e in Ledger(state).tail(100)
        if e.kind == "retention.sweep"
    }
    kept = {k["hold"]: k for k in sweeps[("billing", "invoices")].data["kept"]}
    assert {h: k["rows"] for h, k in kept.items()} == {"tax": 2, "audit": 1, "person:1": 1}
    assert kept["tax"]["reason"] == "Invoices are kept 10 years for tax law."
    assert kept["tax"]["source"] == "map-table"
    assert kept["person:1"]["reason"] == "Case 7/26"
    assert sweeps[("billing", "invoices")].data["rows_held"] == 3
    text = " ".join(e.data_json for e in sweeps.values())
    for value in ("@example.com", "Name ", "10.0.0", "subject ", "hello"):
        assert value not in text

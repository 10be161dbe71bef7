"""Binding rules to the map (incl. last activity through references) and scheduling."""

from __future__ import annotations

from datetime import datetime

import pytest
from tests.retention.conftest import NOW

from troth.datamap.graph import Graph
from troth.errors import RetentionError
from troth.project import Project
from troth.retention import Scheduler, bind_rules, due_rules, parse_cron
from troth.retention.safety import referrers, run_order


def test_md_5_binding_last_activity_through_references(project: Project) -> None:
    assert project.datamap is not None
    result = bind_rules(project.policy.policy, project.datamap.datamap)
    by = {(b.rule.id, b.table): b for b in result.bindings}
    orders = by[("orders", "orders")]
    assert str(orders.timestamp) == "customers.last_login"
    assert [(j.column, j.table, j.key) for j in orders.timestamp.joins] == [
        ("customer_id", "customers", "id")
    ]
    assert by[("customer_contact", "customers")].fields == ("email", "name")
    assert str(by[("closed_accounts", "customers")].timestamp) == "customers.closed_at"
    assert str(by[("sessions", "sessions")].timestamp) == "sessions.started_at"
    assert [h.id for h in by[("orders", "invoices")].holds] == ["tax_invoices"]
    assert by[("orders", "invoices")].holds[0].anchor is not None
    assert [h.id for h in by[("orders", "disputes")].holds] == ["open_dispute"]
    assert by[("orders", "orders")].holds == ()  # the tax hold covers user.financial only
    # children before parents: invoices before orders before customers
    graph = Graph.build(project.datamap.datamap)
    order = [b.table for b in run_order(result.bindings, referrers(graph, "shop"))]
    assert order.index("invoices") < order.index("orders") < order.index("customers")
    # anonymisation never uses a (reversible-with-key) hash
    assert by[("customer_contact", "customers")].masks == {"email": "redact", "name": "redact"}


def test_pl_11_rule_without_timestamp_is_unbound(project: Project) -> None:
    assert project.datamap is not None
    dm = project.datamap.datamap.model_copy(deep=True)
    for _ds, table, f in dm.fields():
        if table.name == "sessions":
            f.retention_timestamp = False
    result = bind_rules(project.policy.policy, dm)
    assert [(u.rule.id, u.table.name) for u in result.unbound] == [("sessions", "sessions")]


@pytest.mark.parametrize(
    ("spec", "moment", "expected"),
    [
        ("@daily", datetime(2026, 6, 1, 0, 0), True),
        ("@daily", datetime(2026, 6, 1, 0, 1), False),
        ("@hourly", datetime(2026, 6, 1, 7, 0), True),
        ("@weekly", datetime(2026, 5, 31, 0, 0), True),  # a Sunday
        ("30 2 * * *", datetime(2026, 6, 1, 2, 30), True),
        ("*/15 * * * *", datetime(2026, 6, 1, 9, 45), True),
        ("*/15 * * * *", datetime(2026, 6, 1, 9, 40), False),
        ("0 */6 * * 1-5", datetime(2026, 6, 1, 12, 0), True),  # Monday
        ("0 */6 * * 1-5", datetime(2026, 6, 6, 12, 0), False),  # Saturday
        ("0 0 1,15 * *", datetime(2026, 6, 15, 0, 0), True),
        ("0 0 * * 7", datetime(2026, 5, 31, 0, 0), True),
    ],
)
def test_pl_11_cron_subset(spec: str, moment: datetime, expected: bool) -> None:
    assert parse_cron(spec).matches(moment) is expected


@pytest.mark.parametrize("bad", ["@yearlyish", "61 * * * *", "* * *", "*/0 * * * *", "a b c d e"])
def test_pl_11_bad_schedule_names_valid_forms(bad: str) -> None:
    with pytest.raises(RetentionError) as err:
        parse_cron(bad, where="retention rule 'x'")
    assert "retention rule 'x'" in str(err.value)


def test_pl_11_due_rules(project: Project) -> None:
    policy = project.policy.policy
    now = datetime(2026, 6, 1, 2, 45)  # a Monday
    never = due_rules(policy, now, {})
    assert set(never) == {"customer_contact", "orders", "sessions", "closed_accounts"}
    recent = {"customer_contact": now, "orders": now, "sessions": datetime(2026, 6, 1, 2, 10)}
    assert set(due_rules(policy, now, recent)) == {"closed_accounts"}  # sessions: next at 3:00
    assert "sessions" in due_rules(policy, datetime(2026, 6, 1, 3, 0), recent)


def test_pl_11_scheduler_runs_pending_without_threads(project: Project) -> None:
    clock = [datetime(2026, 6, 1, 3, 0)]
    ran: list[list[str]] = []

    def run(rules: list[str], now: datetime) -> bool:
        ran.append(sorted(rules))
        return True

    sched = Scheduler(project.policy.policy, run, lambda: clock[0])
    assert sched.run_pending()
    assert sched.run_pending() == []  # nothing new in the same minute
    clock[0] = datetime(2026, 6, 1, 4, 0)
    assert sched.run_pending() == ["sessions"]
    assert len(ran) == 2
    assert clock[0] > NOW


def test_pl_11_start_scheduler_sweeps_due_rules(sqlite_shop: str, troth_env: object) -> None:
    from tests.retention.conftest import FIXTURE, ids

    from troth.config import Settings
    from troth.retention import start_scheduler

    sched = start_scheduler(Settings.from_env(), FIXTURE)
    due = sched.run_pending()  # a rule never run is due when its last slot was within a day
    assert "sessions" in due
    assert 2 not in ids(sqlite_shop, "sessions")
    assert sched.run_pending() == []  # just ran: nothing due in the same minute

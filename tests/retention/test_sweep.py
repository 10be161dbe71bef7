"""Sweeps on SQLite, PostgreSQL and MariaDB: exactly the expired rows, holds untouched, evidence."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from tests.retention.conftest import HELD_EMAIL, KEY, NOW, create_shop, ids, rows

from troth.audit import Ledger
from troth.audit.verify import verify
from troth.errors import StoreDownError
from troth.project import Project
from troth.retention import Sweeper, add_hold, build_plan, open_stores
from troth.retention.bind import Binding
from troth.retention.sweep import SweepResult


def _holds(state: sa.Engine) -> None:
    add_hold(state, KEY, identity="email", value=HELD_EMAIL, reason="litigation", law="Case 12/26")
    add_hold(state, KEY, table="shop.customers", key="7", reason="regulator inquiry")


def _run(project: Project, state: sa.Engine, **kw: object) -> object:
    with open_stores() as stores:
        return Sweeper(project, stores, state, key=KEY, now=NOW, **kw).run()  # type: ignore[arg-type]


def test_pl_11_expired_data_deleted_longer_only_where_law_requires(
    shop_url: str, project: Project, state: sa.Engine
) -> None:
    _holds(state)
    report = _run(project, state, batch_size=2)
    assert report.status == "done"  # type: ignore[attr-defined]
    assert ids(shop_url, "customers") == [2, 3, 5, 6, 7, 8]
    assert ids(shop_url, "orders") == [1, 3]
    assert ids(shop_url, "invoices") == [1]  # 10-year tax hold; invoice 2 (2014) went
    assert ids(shop_url, "sessions") == [1, 3]
    assert ids(shop_url, "disputes") == [1]
    by = {(r.rule_id, r.table): r for r in report.results}  # type: ignore[attr-defined]
    assert by[("orders", "invoices")].held == 1
    assert by[("orders", "disputes")].held == 1
    assert by[("customer_contact", "customers")].held == 2  # person hold + row hold
    assert by[("sessions", "sessions")].held == 1
    assert by[("customer_contact", "customers")].deleted == 2
    assert by[("customer_contact", "customers")].anonymised == 2  # 2 and 8: children stay


def test_md_5_anonymise_keeps_rows_and_parents_of_held_children(
    shop_url: str, project: Project, state: sa.Engine
) -> None:
    _holds(state)
    _run(project, state)
    got = rows(shop_url, "SELECT id, email, name, password_hash FROM customers ORDER BY id")
    by = {r[0]: r[1:] for r in got}
    assert by[2] == ("[redacted]", "[redacted]", "pw2")  # anonymised, invoice still points at it
    assert by[8][:2] == ("[redacted]", "[redacted]")
    assert by[6] == ("fay@example.test", "Fay", None)  # closed account: password anonymised
    assert by[3] == ("cid@example.test", "Cid", "pw3")
    assert by[5] == (HELD_EMAIL, "Eve", "pw5")  # person hold
    assert by[7][:2] == ("gus@example.test", "Gus")  # row hold
    assert rows(shop_url, "SELECT item FROM orders WHERE id = 1") == [("[redacted]",)]


def test_pl_11_rerun_is_a_no_op(shop_url: str, project: Project, state: sa.Engine) -> None:
    _holds(state)
    _run(project, state)
    before = {t: rows(shop_url, f"SELECT * FROM {t} ORDER BY id") for t in ("customers", "orders")}
    again = _run(project, state)
    assert all(r.deleted == 0 and r.anonymised == 0 for r in again.results)  # type: ignore[attr-defined]
    after = {t: rows(shop_url, f"SELECT * FROM {t} ORDER BY id") for t in ("customers", "orders")}
    assert before == after


def test_pl_11_plan_counts_equal_hand_written_counts_and_change_nothing(
    shop_url: str, project: Project, state: sa.Engine
) -> None:
    from troth.retention import active_person_holds

    _holds(state)
    with open_stores() as stores:
        plan = build_plan(project, stores, key=KEY, now=NOW, person=active_person_holds(state))
    items = {(i.binding.rule.id, i.binding.table): i for i in plan.items}
    hand = {
        "sessions": "SELECT COUNT(*) FROM sessions WHERE started_at < '2026-05-02' AND customer_id <> 5",
        "customers": "SELECT COUNT(*) FROM customers c WHERE last_login < '2024-06-01' "
        "AND id NOT IN (5, 7) AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) "
        "AND NOT EXISTS (SELECT 1 FROM disputes d WHERE d.customer_id = c.id)",
        "held_invoices": "SELECT COUNT(*) FROM invoices i JOIN customers c ON c.id = i.customer_id "
        "WHERE c.last_login < '2024-06-01' AND i.issued_at >= '2016-06-01'",
    }
    assert items[("sessions", "sessions")].delete == rows(shop_url, hand["sessions"])[0][0]
    # customer 4 still has order 2 before the sweep, but the order goes first: the plan composes
    # "a referencing row that will remain" and predicts what the run does (2 deleted: 1 and 4)
    customers = items[("customer_contact", "customers")]
    assert rows(shop_url, hand["customers"])[0][0] == 1
    assert (customers.delete, customers.anonymise) == (2, 2)
    assert items[("orders", "invoices")].held == rows(shop_url, hand["held_invoices"])[0][0]
    assert (
        "?" in items[("sessions", "sessions")].sql["delete"]
        or "%(" in items[("sessions", "sessions")].sql["delete"]
    )
    assert "2026" not in json.dumps(items[("sessions", "sessions")].sql)  # placeholders only
    assert ids(shop_url, "sessions") == [1, 2, 3]


def test_pl_11_evidence_in_ledger_without_personal_data(
    sqlite_shop: str, project: Project, state: sa.Engine
) -> None:
    _holds(state)
    report = _run(project, state)
    entries = [e for e in Ledger(state).tail(50) if e.kind.startswith("retention.")]
    sweeps = [e.data for e in entries if e.kind == "retention.sweep"]
    assert len(sweeps) == len(report.results)  # type: ignore[attr-defined]
    s = next(d for d in sweeps if d["table"] == "sessions")
    assert {"rule_id", "cutoff", "rows_deleted", "rows_held", "duration_ms", "batches"} <= set(s)
    assert s["rows_deleted"] == 1
    assert s["rows_held"] == 1
    text = " ".join(e.data_json + (e.subject or "") for e in entries)
    for value in ("@example.test", "Eve", "Gus", "10.0.0", "pw"):
        assert value not in text
    assert verify(state).ok


def test_pl_11_statements_are_o_batches_not_o_rows(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, project: Project, state: sa.Engine
) -> None:
    url = f"sqlite:///{tmp_path}/big.db"
    create_shop(url, extra_sessions=1000)
    monkeypatch.setenv("TROTH_CONN_SHOP", url)
    seen: list[str] = []
    with open_stores() as stores:
        engine = stores.get("shop").engine
        stores.schema("shop")  # introspection is once per store, not per row: leave it out
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        report = Sweeper(
            project, stores, state, key=KEY, now=NOW, rules=["sessions"], batch_size=100
        ).run()
    res = report.results[0]
    assert res.deleted == 1002
    assert res.batches == 11
    writes = [s for s in seen if s.lstrip().upper().startswith("DELETE")]
    assert len(writes) == 11
    assert len(seen) <= 2 * res.batches + 5


def test_pl_11_store_down_mid_run_stops_cleanly_and_next_run_finishes(
    shop_url: str, project: Project, state: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_more = shop_url.startswith("sqlite")
    calls = {"n": 0}

    def fail_after_first(_b: Binding, _r: SweepResult) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise StoreDownError(
                "store unreachable while trying to delete", where="connection 'shop'"
            )

    with open_stores() as stores:
        report = Sweeper(
            project, stores, state, key=KEY, now=NOW, batch_size=1, on_batch=fail_after_first
        ).run()
    assert report.status == "interrupted"
    assert report.exit_code == 3
    done = [r for r in report.results if r.deleted or r.anonymised]
    assert len(done) == 1
    assert done[0].status == "interrupted"
    last = Ledger(state).tail(1)[0]
    assert last.kind == "retention.run"
    assert last.data["status"] == "interrupted"
    again = _run(project, state)
    assert again.status == "done"  # type: ignore[attr-defined]
    assert ids(shop_url, "customers") == [2, 3, 6, 8]
    assert ids(shop_url, "invoices") == [1]
    assert create_more in (True, False)


def test_pl_11_postgres_batch_is_one_statement_and_stops_at_last_expired_key(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, project: Project, state: sa.Engine
) -> None:
    create_shop(pg_url, extra_sessions=998)  # 1,000 expired sessions: exactly 10 batches of 100
    monkeypatch.setenv("TROTH_CONN_SHOP", pg_url)
    seen: list[str] = []
    with open_stores() as stores:
        engine = stores.get("shop").engine
        stores.schema("shop")
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        report = Sweeper(
            project, stores, state, key=KEY, now=NOW, rules=["sessions"], batch_size=100
        ).run()
    res = report.results[0]
    assert (res.deleted, res.batches, res.expected) == (1000, 10, 1000)
    batches = [s for s in seen if s.lstrip().upper().startswith("WITH")]
    assert len(batches) == 10  # no 11th, empty batch: the keyset stops at the highest expired key
    assert all("RETURNING" in s and "LIMIT" in s for s in batches)
    assert not [s for s in seen if s.lstrip().upper().startswith("DELETE")]
    assert ids(pg_url, "sessions") == [1]

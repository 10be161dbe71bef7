"""The overview pages: consent figures per consent and notice version with the GPC share and a
server-drawn withdrawals chart, retention rules with their next run and the rows each sweep
deleted, anonymised and held, the check findings, webhook deliveries, and the ledger's verify."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from console_support import ROOT, Console, csrf, make_console
from tests.retention.conftest import NOW, create_shop

from troth.consent import ConsentLedger
from troth.consent.events import NewEvent
from troth.datamap.demo import create_demo_db
from troth.policy.checks import run_checks
from troth.retention import Sweeper, open_stores
from troth.retention.schedule import parse_cron
from troth.store import open_store
from troth.worker.webhooks import add_endpoint, deliver

RETENTION = ROOT / "tests" / "fixtures" / "retention"


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Console:
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(store, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", store)
    return make_console(tmp_path)


def test_consent_figures_gpc_share_and_the_withdrawals_chart(console: Console) -> None:
    admin = console.app.state.admin
    ledger = ConsentLedger(admin.engine, admin.policy, key=console.settings.secret_key)
    now = datetime.now(UTC)
    for i in range(4):
        ledger.record(NewEvent(f"p{i}@example.com", "marketing_email", "given", gpc=i == 0))
    yesterday = (now - timedelta(days=1)).replace(microsecond=0)
    ledger.record(NewEvent("p1@example.com", "marketing_email", "withdrawn", event_time=yesterday))
    page = console.signed_in("auditor").get("/admin/consent").text
    row = re.search(r"<tr><td>marketing_email</td><td>([^<]+)</td>(.*?)</tr>", page)
    assert row, page
    cells = re.findall(r'class="num">([^<]+)<', row.group(2))
    assert cells == ["4", "0", "1", "0", "4", "20.0%"]  # given, refused, withdrawn, expired
    assert "<svg" in page
    assert "<script" not in page
    assert f"{yesterday.date()}: 1</title>" in page  # the bar of yesterday
    assert "1 withdrawal(s) in the last 90 days" in page
    assert "p1@example.com" not in page


def test_retention_rules_next_runs_and_the_rows_of_each_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = f"sqlite:///{tmp_path / 'shop.db'}"
    create_shop(shop)
    monkeypatch.setenv("TROTH_CONN_SHOP", shop)
    console = make_console(tmp_path, RETENTION)
    admin = console.app.state.admin
    with open_stores() as stores:
        report = Sweeper(
            admin.project, stores, admin.engine, key=console.settings.secret_key, now=NOW
        ).run()
    assert report.status == "done"
    assert sum(r.deleted + r.anonymised + r.held for r in report.results) > 0
    page = console.signed_in("auditor").get("/admin/retention").text
    for rule in admin.policy.retention:
        assert f"<td>{rule.id}" in page
        if rule.schedule:
            nxt = parse_cron(rule.schedule).next_after(datetime.now(UTC).replace(tzinfo=None))
            assert nxt is not None
            assert nxt.isoformat(timespec="minutes") in page
    assert re.search(r"<td>#1</td><td>[\d\-T:]+</td><td>[\d\-T:]+</td><td>done</td>", page)
    for r in report.results:
        cells = (
            f'<td class="num">{r.deleted}</td><td class="num">{r.anonymised}</td>'
            f'<td class="num">{r.held}</td><td class="num">#1</td>'
        )
        assert cells in page, (r.rule_id, r.table)


def test_next_after_finds_the_next_matching_minute() -> None:
    at = datetime(2030, 1, 1, 10, 15)
    assert parse_cron("30 2 * * *").next_after(at) == datetime(2030, 1, 2, 2, 30)
    assert parse_cron("@hourly").next_after(at) == datetime(2030, 1, 1, 11, 0)
    assert parse_cron("0 0 1 * *").next_after(at) == datetime(2030, 2, 1, 0, 0)
    assert parse_cron("0 0 29 2 *").next_after(at) is None  # not within the look-ahead


def test_check_findings_are_those_of_troth_check(console: Console) -> None:
    project = console.app.state.admin.project
    report = run_checks(project.policy, datamap=project.datamap)
    page = console.signed_in("reviewer").get("/admin/checks").text
    assert f"{report.checks_run} checks ran" in page
    for f in report.findings:
        assert f"<td>{f.check}</td>" in page


def test_webhook_deliveries_are_listed(console: Console) -> None:
    engine = open_store(console.settings)
    add_endpoint(engine, console.settings.secret_key, "http://127.0.0.1:9/hook")
    deliver(engine, console.settings.secret_key, 1, "dsr.changed", {"request_id": "r1"})
    page = console.signed_in("auditor").get("/admin/webhooks").text
    assert re.search(r"<td>1</td><td>[0-9a-f]+</td><td>\w+</td><td class=\"num\">1</td>", page)


def test_the_ledger_page_verifies_the_chain(console: Console) -> None:
    c = console.signed_in("auditor")
    page = c.get("/admin/audit").text
    assert "console.login" in page
    done = c.post("/admin/audit/verify", data={"csrf": csrf(c, "/admin/audit")})
    assert done.status_code == 200
    assert "Verified: ok:" in done.text
    with open_store(console.settings).connect() as conn:  # tamper with an entry
        conn.execute(sa.text("UPDATE audit_entry SET actor = 'someone' WHERE seq = 1"))
        conn.commit()
    bad = c.post("/admin/audit/verify", data={"csrf": csrf(c, "/admin/audit")})
    assert "TAMPERED: entry 1" in bad.text

"""One schema shape per test, on SQLite, PostgreSQL and MariaDB, every row of every table hashed
before and after, and a second run changes nothing: row conditions, holds that end, composite
keys and tables without a key, self-references."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from tests.retention.kit import (
    KEY,
    Fate,
    Row,
    assert_effects,
    create,
    engine,
    plan,
    plan_totals,
    read_all,
    sweep,
    totals,
    write_project,
)

from troth.project import Project
from troth.retention import add_hold
from troth.store import open_store

NOW = datetime(2026, 6, 1)
OLD, RECENT = datetime(2021, 1, 1), datetime(2026, 5, 1)
HEAD = """\
troth: 1
kind: datamap
systems:
  - name: s
    datasets:
      - name: s
        connection: shop
        tables:
"""


def _run(
    url: str,
    tmp: Path,
    rules: str,
    tables: str,
    ddl: Sequence[str],
    data: dict[str, list[Row]],
    fate: Fate,
    counts: dict[tuple[str, str], tuple[int, int, int]],
    batch_size: int = 1,
    row_holds: Sequence[tuple[str, str]] = (),
) -> Project:
    """Create, plan (counts), sweep (effects on every row), sweep again (nothing)."""
    create(url, ddl, data)
    project = write_project(tmp / "proj", rules, HEAD + tables)
    state = open_store(f"sqlite:///{tmp / 'state.db'}")
    for table, key in row_holds:
        add_hold(state, KEY, table=table, key=key, reason="row hold")
    before = read_all(url)
    assert plan_totals(plan(project, state, NOW)) == counts
    report = sweep(project, state, NOW, batch_size=batch_size)
    assert report.status == "done", report.error
    assert totals(report) == counts
    after = read_all(url)
    assert_effects(before, after, fate)
    again = sweep(project, state, NOW, batch_size=batch_size)
    assert all(r.deleted == r.anonymised == 0 for r in again.results)
    assert read_all(url) == after
    state.dispose()
    return project


TICKET_RULE = """\
- id: support
  categories: [user.content]
  period: 2 years
  trigger: last_activity
  action: delete
"""


def test_row_condition_limits_a_rule_to_closed_tickets(any_url: str, tmp_path: Path) -> None:
    """An open ticket idle four years is not deleted, nor its messages (they take their clock
    from the ticket); 'Closed' and 'closed ' are not 'closed' on any engine."""
    tables = """\
          - name: tickets
            retention: [{rule: support, where: {status: closed}}]
            fields:
              - {name: id, primary_key: true}
              - {name: status}
              - {name: subject, categories: [user.content.private]}
              - {name: last_activity_at, retention_timestamp: true}
          - name: messages
            fields:
              - {name: id, primary_key: true}
              - name: ticket_id
                references: [{field: tickets.id, kind: owns}]
              - {name: body, categories: [user.content.private]}
"""
    ddl = [
        "CREATE TABLE tickets (id INTEGER NOT NULL PRIMARY KEY, status VARCHAR(20), "
        "subject VARCHAR(80), last_activity_at TIMESTAMP NULL)",
        "CREATE TABLE messages (id INTEGER NOT NULL PRIMARY KEY, ticket_id INTEGER NOT NULL, "
        "body VARCHAR(80), FOREIGN KEY (ticket_id) REFERENCES tickets (id))",
    ]
    statuses = ["closed", "open", "Closed", "closed ", None]
    data: dict[str, list[Row]] = {
        "tickets": [
            {"id": i, "status": s, "subject": f"s{i}", "last_activity_at": OLD}
            for i, s in enumerate(statuses, 1)
        ],
        "messages": [{"id": i, "ticket_id": i, "body": f"b{i}"} for i in range(1, 6)],
    }
    _run(
        any_url,
        tmp_path,
        TICKET_RULE,
        tables,
        ddl,
        data,
        lambda t, r: None if r.get("id") == 1 else r,
        {("support", "messages"): (1, 0, 0), ("support", "tickets"): (1, 0, 0)},
    )


def test_hold_with_for_ends_and_hold_without_it_lasts(any_url: str, tmp_path: Path) -> None:
    """``for: 10 years since issued_at``: kept while younger, swept after; a map hold without
    ``for`` keeps its rows; a policy hold with a period keeps its meaning (from the row's own
    collection time)."""
    rules = """\
- id: billing
  categories: [user.financial]
  period: 3 years
  trigger: collection
  action: delete
  legal_holds:
    - {id: audit, period: 12 years, categories: [user.financial.bank_account], reason: Audit.}
"""
    tables = """\
          - name: invoices
            legal_holds:
              - {id: tax, reason: Tax law., period: ten years, for: 10 years since issued_at}
            fields:
              - {name: id, primary_key: true}
              - {name: amount, categories: [user.financial]}
              - {name: issued_at, retention_timestamp: true}
          - name: disputes
            legal_holds:
              - {id: dispute, reason: Open dispute., period: 10 years}
            fields:
              - {name: id, primary_key: true}
              - {name: details, categories: [user.financial]}
              - {name: opened_at, retention_timestamp: true}
          - name: accounts
            fields:
              - {name: id, primary_key: true}
              - {name: iban, categories: [user.financial.bank_account]}
              - {name: created_at, retention_timestamp: true}
"""
    ddl = [
        "CREATE TABLE invoices (id INTEGER NOT NULL PRIMARY KEY, amount INTEGER, "
        "issued_at TIMESTAMP NULL)",
        "CREATE TABLE disputes (id INTEGER NOT NULL PRIMARY KEY, details VARCHAR(80), "
        "opened_at TIMESTAMP NULL)",
        "CREATE TABLE accounts (id INTEGER NOT NULL PRIMARY KEY, iban VARCHAR(40), "
        "created_at TIMESTAMP NULL)",
    ]
    years = [2010, 2016, 2017, 2020]  # the tax hold ends for rows issued before 2016-06-01
    data: dict[str, list[Row]] = {
        "invoices": [
            {"id": i, "amount": i, "issued_at": datetime(y, 1, 1)} for i, y in enumerate(years, 1)
        ],
        "disputes": [{"id": 1, "details": "d", "opened_at": datetime(2001, 1, 1)}],
        "accounts": [
            {"id": i, "iban": f"x{i}", "created_at": datetime(y, 1, 1)}
            for i, y in ((1, 2010), (2, 2015))  # audit: 12 years from created_at (2014-06-01)
        ],
    }

    def fate(table: str, row: Row) -> Row | None:
        if table == "invoices" and row["id"] in (1, 2):
            return None
        if table == "accounts" and row["id"] == 1:
            return None
        return row

    _run(
        any_url,
        tmp_path,
        rules,
        tables,
        ddl,
        data,
        fate,
        {
            ("billing", "invoices"): (2, 0, 2),
            ("billing", "disputes"): (0, 0, 1),
            ("billing", "accounts"): (1, 0, 1),
        },
    )


def test_composite_key_and_tables_without_a_key_are_swept(any_url: str, tmp_path: Path) -> None:
    """Tags (key: ticket_id, tag) are deleted by the key tuple; a log without a key (with
    duplicate rows) is deleted and another anonymised, by rowid, ctid or LIMIT."""
    rules = """\
- id: logs
  categories: [user.device.ip_address]
  period: 90 days
  trigger: collection
  action: delete
- id: agents
  categories: [user.device.device_id]
  period: 90 days
  trigger: collection
  action: anonymise
- id: tags
  categories: [user.content]
  period: 90 days
  trigger: collection
  action: delete
"""
    tables = """\
          - name: tags
            fields:
              - {name: ticket_id, primary_key: true}
              - {name: tag, primary_key: true, categories: [user.content.public]}
              - {name: created_at, retention_timestamp: true}
          - name: access_log
            fields:
              - {name: ip, categories: [user.device.ip_address]}
              - {name: logged_at, retention_timestamp: true}
          - name: devices
            fields:
              - {name: device, categories: [user.device.device_id]}
              - {name: logged_at, retention_timestamp: true}
"""
    ddl = [
        "CREATE TABLE tags (ticket_id INTEGER NOT NULL, tag VARCHAR(20) NOT NULL, "
        "created_at TIMESTAMP NULL, PRIMARY KEY (ticket_id, tag))",
        "CREATE TABLE access_log (ip VARCHAR(45), logged_at TIMESTAMP NULL)",
        "CREATE TABLE devices (device VARCHAR(45), logged_at TIMESTAMP NULL)",
    ]
    tags = [(1, "a", OLD), (1, "b", OLD), (1, "c", RECENT), (2, "a", OLD), (3, "a", RECENT)]
    log = [("10.0.0.1", OLD)] * 3 + [("10.0.0.2", OLD), ("10.0.0.3", RECENT)] * 2
    data: dict[str, list[Row]] = {
        "tags": [{"ticket_id": t, "tag": g, "created_at": at} for t, g, at in tags],
        "access_log": [{"ip": ip, "logged_at": at} for ip, at in log],
        "devices": [{"device": f"dev-{i % 2}", "logged_at": at} for i, (_, at) in enumerate(log)],
    }
    cutoff = "2026-03-03"

    def fate(table: str, row: Row) -> Row | None:
        at = row.get("created_at") or row.get("logged_at")
        if str(at) >= cutoff or (row.get("ticket_id"), row.get("tag")) == (2, "a"):
            return row
        return {**row, "device": "[redacted]"} if table == "devices" else None

    _run(
        any_url,
        tmp_path,
        rules,
        tables,
        ddl,
        data,
        fate,
        {
            ("logs", "access_log"): (5, 0, 0),
            ("agents", "devices"): (0, 5, 0),
            ("tags", "tags"): (2, 0, 1),
        },
        batch_size=2,
        row_holds=[("s.tags", "2,a")],  # a composite key, in key order
    )


def test_self_reference_deletes_leaves_first_and_keeps_what_staying_rows_point_at(
    any_url: str, tmp_path: Path
) -> None:
    """tickets.merged_into -> tickets.id: a chain of closed tickets goes leaves first (the
    parent has the lower key, batches of one row); a ticket an open one was merged into, and the
    ticket that one was merged into, are anonymised; nothing dangles, no foreign key fails."""
    tables = """\
          - name: tickets
            retention: [{where: {status: closed}}]
            fields:
              - {name: id, primary_key: true}
              - name: merged_into
                references: [{field: tickets.id, kind: refers}]
              - {name: status}
              - {name: subject, categories: [user.content.private]}
              - {name: last_activity_at, retention_timestamp: true}
"""
    ddl = [
        "CREATE TABLE tickets (id INTEGER NOT NULL PRIMARY KEY, merged_into INTEGER NULL, "
        "status VARCHAR(20), subject VARCHAR(80), last_activity_at TIMESTAMP NULL, "
        "FOREIGN KEY (merged_into) REFERENCES tickets (id))"
    ]
    rows = [
        (1, None, "closed", OLD),  # 1 <- 2 <- 3, all closed and old: deleted, 3 first
        (2, 1, "closed", OLD),
        (3, 2, "closed", OLD),
        (4, None, "closed", OLD),  # 4 <- 5 <- 6 (open): 4 and 5 anonymised
        (5, 4, "closed", OLD),
        (6, 5, "open", RECENT),
        (7, None, "closed", OLD),  # 7 <- 8 (closed, recent): 7 anonymised
        (8, 7, "closed", RECENT),
        (9, 9, "closed", OLD),  # merged into itself: no engine deletes it (MariaDB checks
        (10, 11, "closed", OLD),  # each row), nor a cycle 10 <-> 11: anonymised, 12 too
        (11, 10, "closed", OLD),
        (12, None, "closed", OLD),
        (13, 12, "closed", OLD),  # 13 -> 12, and 10 -> 11 -> 10 ... 13 is a leaf: deleted
    ]
    data: dict[str, list[Row]] = {
        "tickets": [
            {"id": i, "merged_into": None, "status": s, "subject": f"s{i}", "last_activity_at": a}
            for i, _, s, a in rows
        ]
    }
    merges = [(i, m) for i, m, _, _ in rows if m is not None]

    def fate(_table: str, row: Row) -> Row | None:
        if row["id"] in (1, 2, 3, 12, 13):
            return None
        return {**row, "subject": "[redacted]"} if row["id"] in (4, 5, 7, 9, 10, 11) else row

    create(any_url, ddl, data)
    eng = engine(any_url)
    with eng.begin() as c:
        for i, m in merges:
            c.execute(
                sa.text("UPDATE tickets SET merged_into = :m WHERE id = :i"), {"m": m, "i": i}
            )
    eng.dispose()
    project = write_project(tmp_path / "proj", TICKET_RULE, HEAD + tables)
    state = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    before = read_all(any_url)
    counts = {("support", "tickets"): (5, 6, 0)}
    assert plan_totals(plan(project, state, NOW)) == counts
    report = sweep(project, state, NOW, batch_size=1)
    assert report.status == "done", report.error
    assert totals(report) == counts
    after = read_all(any_url)
    assert_effects(before, after, fate)
    assert sweep(project, state, NOW).results[0].deleted == 0
    assert read_all(any_url) == after


def test_deep_chain_of_self_referencing_tables_plans_and_sweeps(
    any_url: str, tmp_path: Path
) -> None:
    """Five tables, each referencing the one above and itself: the SQL stays within every
    engine's limits (SQLite's parser stack), and the run does what the plan counts."""
    ddl, tables, data = [], "", {}
    for i in range(5):
        parent = f", FOREIGN KEY (p) REFERENCES t{i - 1} (id)" if i else ""
        ddl.append(
            f"CREATE TABLE t{i} (id INTEGER NOT NULL PRIMARY KEY, p INTEGER NULL, "
            f"m INTEGER NULL, note VARCHAR(20), created_at TIMESTAMP NULL{parent}, "
            f"FOREIGN KEY (m) REFERENCES t{i} (id))"
        )
        ref = f"\n                references: [{{field: t{i - 1}.id, kind: owns}}]" if i else ""
        tables += f"""\
          - name: t{i}
            fields:
              - {{name: id, primary_key: true}}
              - name: p{ref}
              - name: m
                references: [{{field: t{i}.id, kind: refers}}]
              - {{name: note, categories: [user.content.private]}}
              - {{name: created_at, retention_timestamp: true}}
"""
        data[f"t{i}"] = [
            {
                "id": k,
                "p": (k % 3 + 1) if i else None,
                "m": None,
                "note": "n",
                "created_at": RECENT if (k + i) % 4 == 0 else OLD,
            }
            for k in range(1, 7)
        ]
    create(any_url, ddl, data)
    eng = engine(any_url)
    with eng.begin() as c:
        for i in range(5):
            c.execute(sa.text(f"UPDATE t{i} SET m = id - 1 WHERE id > 1"))
    eng.dispose()
    rules = """\
- id: notes
  categories: [user.content]
  period: 2 years
  trigger: collection
  action: delete
"""
    project = write_project(tmp_path / "proj", rules, HEAD + tables)
    state = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    planned = plan_totals(plan(project, state, NOW))
    report = sweep(project, state, NOW, batch_size=2)
    assert report.status == "done", report.error
    assert totals(report) == planned
    assert sum(d + a for d, a, _ in planned.values()) > 0
    after = read_all(any_url)
    assert all(r.deleted == r.anonymised == 0 for r in sweep(project, state, NOW).results)
    assert read_all(any_url) == after

"""``troth check`` on retention with a data map: messages that say what is wrong and a fix that
does not contradict them, row conditions and ending holds validated, foreign-key safety and
delete cycles said before any write; ``troth retention plan`` validates against the live schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.retention.kit import create, write_project

from troth.cli import main
from troth.policy.checks import Finding, run_checks
from troth.project import Project

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
ACTIVITY = """\
- id: history
  categories: [user.behavior.purchase_history]
  period: 2 years
  trigger: last_activity
  action: delete
"""
CUSTOMERS = """\
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email]}
              - {name: last_login, retention_timestamp: true}
"""


def findings(project: Project, check_id: str) -> list[Finding]:
    assert project.datamap is not None
    report = run_checks(project.policy, select=[check_id], datamap=project.datamap)
    return report.findings


def test_marked_timestamp_whose_name_does_not_fit_says_so(tmp_path: Path) -> None:
    tables = """\
          - name: orders
            fields:
              - {name: id, primary_key: true}
              - {name: item, categories: [user.behavior.purchase_history]}
              - {name: updated_at, retention_timestamp: true}
"""
    (f,) = findings(write_project(tmp_path, ACTIVITY, HEAD + tables), "retention.no-timestamp")
    assert "orders.updated_at is marked `retention_timestamp`" in f.message
    assert "last_activity" in f.message
    assert "last..." in f.message
    assert f.fix is not None
    assert "rename the column" in f.fix
    assert "datamap.yaml:" in f.where


def test_timestamp_behind_a_refers_reference_is_not_followed(tmp_path: Path) -> None:
    """A ticket's customer (hub-like `refers`) is not its owner: its last login is no clock."""
    tables = (
        CUSTOMERS
        + """\
          - name: orders
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: refers}]
              - {name: item, categories: [user.behavior.purchase_history]}
"""
    )
    project = write_project(tmp_path, ACTIVITY, HEAD + tables)
    (f,) = findings(project, "retention.no-timestamp")
    assert "customers.last_login fits the trigger" in f.message
    assert "`refers` reference (customer_id -> customers.id)" in f.message
    assert f.fix is not None
    assert "`kind: owns`" in f.fix
    owned = write_project(
        tmp_path / "owned", ACTIVITY, HEAD + tables.replace("kind: refers", "kind: owns")
    )
    assert findings(owned, "retention.no-timestamp") == []


def test_no_false_warning_when_the_clock_is_in_the_owner(tmp_path: Path) -> None:
    tables = (
        CUSTOMERS
        + """\
          - name: orders
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - {name: item, categories: [user.behavior.purchase_history]}
"""
    )
    project = write_project(tmp_path, ACTIVITY, HEAD + tables)
    assert findings(project, "map.no-retention-timestamp") == []
    cut = write_project(
        tmp_path / "cut", ACTIVITY, HEAD + tables.replace("kind: owns", "kind: refers")
    )
    (f,) = findings(cut, "map.no-retention-timestamp")
    assert "s.orders" in f.message
    assert "'history'" in f.message


def test_row_conditions_are_checked_against_rules_and_fields(tmp_path: Path) -> None:
    tables = """\
          - name: orders
            retention:
              - {rule: histroy, where: {status: closed}}
              - {rule: contacts, where: {status: closed}}
              - {where: {state: closed}}
            fields:
              - {name: id, primary_key: true}
              - {name: status}
              - {name: item, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
"""
    rules = (
        ACTIVITY
        + """\
- id: contacts
  categories: [user.contact]
  period: 1 year
  trigger: collection
  action: delete
"""
    )
    got = findings(write_project(tmp_path, rules, HEAD + tables), "retention.condition")
    messages = [f.message for f in got]
    assert any("names rule 'histroy', which the policy does not have" in m for m in messages)
    assert any("names rule 'contacts', which covers no field" in m for m in messages)
    assert any("names column 'state', which the map does not declare" in m for m in messages)
    assert all("datamap.yaml:" in f.where for f in got)
    assert next(f for f in got if "'state'" in f.message).field.endswith("where.state")  # type: ignore[union-attr]


def test_hold_ending_by_an_unmapped_column(tmp_path: Path) -> None:
    tables = """\
          - name: invoices
            legal_holds:
              - {id: tax, reason: Tax law., for: 10 years since issued_on}
            fields:
              - {name: id, primary_key: true}
              - {name: amount, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
"""
    (f,) = findings(write_project(tmp_path, ACTIVITY, HEAD + tables), "retention.hold-ends")
    assert "'issued_on', which is not a field" in f.message
    assert f.field is not None
    assert f.field.endswith(".for")


def test_delete_cycle_and_kept_parents_are_said_before_any_write(tmp_path: Path) -> None:
    tables = """\
          - name: a
            fields:
              - {name: id, primary_key: true}
              - name: b_id
                references: [{field: b.id, kind: refers}]
              - {name: note, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
          - name: b
            fields:
              - {name: id, primary_key: true}
              - name: a_id
                references: [{field: a.id, kind: refers}]
              - {name: note, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
"""
    project = write_project(tmp_path, ACTIVITY, HEAD + tables)
    (f,) = findings(project, "retention.delete-cycle")
    assert "reference each other in a cycle" in f.message
    assert "b.a_id -> a" in f.message
    assert "a.b_id -> b" in f.message
    kept = findings(project, "retention.kept-parents")
    assert {k.message.split(" deletes rows of ")[1].split(" ")[0] for k in kept} == {"s.a", "s.b"}


def test_cli_check_reports_condition_errors_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = CUSTOMERS.replace(
        "          - name: customers\n",
        "          - name: customers\n            retention: [{where: {gone: true}}]\n",
    ).replace("[user.contact.email]", "[user.behavior.purchase_history]")
    write_project(tmp_path, ACTIVITY, HEAD + tables)
    assert main(["check", str(tmp_path)]) == 1
    assert "retention.condition" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("ddl_status", "where", "expected"),
    [
        ("status INTEGER", "{status: closed}", "does not fit the column's type"),
        ("state VARCHAR(10)", "{status: closed}", "names column 'status', which the store"),
    ],
)
def test_plan_validates_conditions_against_the_live_schema(
    any_url: str,
    tmp_path: Path,
    troth_env: Path,
    capsys: pytest.CaptureFixture[str],
    ddl_status: str,
    where: str,
    expected: str,
) -> None:
    create(
        any_url,
        [
            f"CREATE TABLE tickets (id INTEGER NOT NULL PRIMARY KEY, {ddl_status}, "
            "note VARCHAR(20), last_login TIMESTAMP NULL)"
        ],
        {},
    )
    tables = f"""\
          - name: tickets
            retention: [{{where: {where}}}]
            fields:
              - {{name: id, primary_key: true}}
              - {{name: status}}
              - {{name: note, categories: [user.behavior.purchase_history]}}
              - {{name: last_login, retention_timestamp: true}}
"""
    write_project(tmp_path / "p", ACTIVITY, HEAD + tables)
    assert main(["retention", "plan", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "datamap.yaml:" in err


def test_tables_with_a_composite_key_or_none_are_no_check_error(tmp_path: Path) -> None:
    """Retention no longer refuses them, so `troth check` has nothing to say about their keys."""
    tables = """\
          - name: tags
            fields:
              - {name: ticket_id, primary_key: true}
              - {name: tag, primary_key: true, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
          - name: access_log
            fields:
              - {name: ip, categories: [user.behavior.purchase_history]}
              - {name: last_seen, retention_timestamp: true}
"""
    project = write_project(tmp_path, ACTIVITY, HEAD + tables)
    assert findings(project, "retention.no-timestamp") == []


def test_plan_refuses_to_anonymise_a_column_a_reference_uses(
    any_url: str, tmp_path: Path, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create(
        any_url,
        [
            "CREATE TABLE accounts (email VARCHAR(80) NOT NULL PRIMARY KEY, "
            "last_login TIMESTAMP NULL)",
            "CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(80), "
            "FOREIGN KEY (email) REFERENCES accounts (email))",
        ],
        {},
    )
    tables = """\
          - name: accounts
            fields:
              - {name: email, primary_key: true, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
          - name: orders
            fields:
              - {name: id, primary_key: true}
              - {name: email}
"""
    rules = ACTIVITY.replace("action: delete", "action: anonymise")
    write_project(tmp_path / "p", rules, HEAD + tables)
    assert main(["retention", "plan", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "would anonymise accounts.email, which the reference orders.email (schema)" in err
    assert "datamap.yaml:" in err


def test_run_refuses_a_delete_cycle_before_any_write(
    any_url: str, tmp_path: Path, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime

    from tests.retention.kit import read_all

    old = datetime(2020, 1, 1)
    create(
        any_url,
        [
            "CREATE TABLE a (id INTEGER NOT NULL PRIMARY KEY, b_id INTEGER, note VARCHAR(20), "
            "last_login TIMESTAMP NULL)",
            "CREATE TABLE b (id INTEGER NOT NULL PRIMARY KEY, a_id INTEGER, note VARCHAR(20), "
            "last_login TIMESTAMP NULL)",
        ],
        {
            "a": [{"id": 1, "b_id": 1, "note": "x", "last_login": old}],
            "b": [{"id": 1, "a_id": 1, "note": "y", "last_login": old}],
        },
    )
    tables = """\
          - name: a
            fields:
              - {name: id, primary_key: true}
              - name: b_id
                references: [{field: b.id, kind: refers}]
              - {name: note, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
          - name: b
            fields:
              - {name: id, primary_key: true}
              - name: a_id
                references: [{field: a.id, kind: refers}]
              - {name: note, categories: [user.behavior.purchase_history]}
              - {name: last_login, retention_timestamp: true}
"""
    write_project(tmp_path / "p", ACTIVITY, HEAD + tables)
    before = read_all(any_url)
    assert main(["retention", "run", str(tmp_path / "p")]) == 2
    assert "reference each other in a cycle" in capsys.readouterr().err
    assert read_all(any_url) == before

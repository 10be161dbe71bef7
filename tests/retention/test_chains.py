"""A rule's clock, hold anchor or identity one to three references away: correlated SQL.

The property test generates chains of owning references (``c0 -> c1 -> ... -> cN``, the timestamp
and the identity in ``cN``), random timestamps, NULL references and NULL timestamps, and compares
the plan's counts and the run's effects (every row of every table hashed) with a computation in
Python, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.retention.kit import (
    Row,
    assert_effects,
    create,
    drop,
    plan,
    read_all,
    sweep,
    write_project,
)

from troth.config import Settings
from troth.retention import add_hold
from troth.store import open_store

NOW = datetime(2026, 6, 1)
CUTOFF = datetime(2024, 6, 1)  # 2 years
HOLD_CUTOFF = datetime(2021, 6, 1)  # 5 years
KEY = b"test-secret-key-0123456789abcdef"
STAMPS = [
    None,
    NOW - timedelta(days=10),
    CUTOFF + timedelta(seconds=1),
    CUTOFF,  # not before the cutoff: not expired
    CUTOFF - timedelta(seconds=1),
    HOLD_CUTOFF,  # the hold still runs
    HOLD_CUTOFF - timedelta(days=1),
    datetime(2010, 1, 1),
]


def chain_map(depth: int) -> str:
    tables = []
    for i in range(depth):
        note = ", categories: [user.behavior.purchase_history], mask: redact" if i == 0 else ""
        tables.append(f"""\
          - name: c{i}
            subject: customer
            fields:
              - {{name: id, primary_key: true}}
              - name: parent_id
                references: [{{field: c{i + 1}.id, kind: owns}}]
              - {{name: note{note}}}
""")
    tables.append(f"""\
          - name: c{depth}
            subject: customer
            fields:
              - {{name: id, primary_key: true}}
              - {{name: email, identity: email, categories: [user.contact.email]}}
              - {{name: last_login, retention_timestamp: true}}
""")
    return (
        "troth: 1\nkind: datamap\nsystems:\n  - name: shop\n    datasets:\n"
        "      - name: shop\n        connection: shop\n        tables:\n" + "".join(tables)
    )


def rules(action: str, hold: bool) -> str:
    text = f"""\
    - id: history
      categories: [user.behavior.purchase_history]
      period: 2 years
      trigger: last_activity
      action: {action}
    """
    if hold:
        text += """\
  legal_holds:
        - {id: five_years, period: 5 years, reason: Kept five years from the last activity.}
    """
    return text


def ddl(depth: int) -> list[str]:
    out = [
        f"CREATE TABLE c{depth} (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(80), "
        "last_login TIMESTAMP NULL)"
    ]
    for i in reversed(range(depth)):
        out.append(
            f"CREATE TABLE c{i} (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NULL, "
            f"note VARCHAR(40), FOREIGN KEY (parent_id) REFERENCES c{i + 1} (id))"
        )
    return out


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    depth = draw(st.integers(1, 3))
    top = [
        {"id": k, "email": f"p{k}@example.com", "last_login": draw(st.sampled_from(STAMPS))}
        for k in range(1, draw(st.integers(1, 4)) + 1)
    ]
    levels: dict[str, list[Row]] = {f"c{depth}": top}
    above = len(top)
    for i in reversed(range(depth)):
        n = draw(st.integers(1, 6))
        levels[f"c{i}"] = [
            {
                "id": k,
                "parent_id": draw(st.one_of(st.none(), st.integers(1, above))),
                "note": draw(st.sampled_from(["a note", "[redacted]", None])),
            }
            for k in range(1, n + 1)
        ]
        above = n
    return {
        "depth": depth,
        "rows": levels,
        "action": draw(st.sampled_from(["delete", "anonymise"])),
        "hold": draw(st.booleans()),
        "person": draw(st.one_of(st.none(), st.integers(1, len(top)))),
    }


def reference(case: dict[str, Any]) -> tuple[dict[int, str], int, int, int]:
    """In Python: each c0 row's fate ('delete', 'anonymise', 'held', 'keep') and the counts."""
    depth, rows = case["depth"], case["rows"]
    by = {t: {r["id"]: r for r in rs} for t, rs in rows.items()}
    fates: dict[int, str] = {}
    for r in rows["c0"]:
        here: Row | None = r
        for i in range(depth):
            assert here is not None
            pid = here["parent_id"]
            here = by[f"c{i + 1}"].get(pid) if pid is not None else None
            if here is None:
                break
        ts = here["last_login"] if here else None
        email = here["email"] if here else None
        expired = ts is not None and ts < CUTOFF
        held = (case["hold"] and (ts is None or ts >= HOLD_CUTOFF)) or (
            case["person"] is not None and email == f"p{case['person']}@example.com"
        )
        if not expired:
            fates[r["id"]] = "keep"
        elif held:
            fates[r["id"]] = "held"
        elif case["action"] == "delete":
            fates[r["id"]] = "delete"
        elif r["note"] in (None, "[redacted]"):
            fates[r["id"]] = "keep"  # already anonymised
        else:
            fates[r["id"]] = "anonymise"
    values = list(fates.values())
    return fates, values.count("delete"), values.count("anonymise"), values.count("held")


@pytest.fixture
def store(any_url: str, tmp_path: Path) -> dict[str, Any]:
    return {"url": any_url, "tmp": tmp_path}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=chains())
def test_chained_timestamp_anchor_and_identity_match_python(
    store: dict[str, Any], case: dict[str, Any]
) -> None:
    url, tmp = store["url"], store["tmp"]
    depth = case["depth"]
    drop(url, [f"c{i}" for i in range(4)])
    create(url, ddl(depth), case["rows"])
    folder = tmp / f"proj{depth}"
    project = write_project(folder, rules(case["action"], case["hold"]), chain_map(depth))
    state_file = tmp / "state.db"
    state_file.unlink(missing_ok=True)
    # a new state DB per example: its ledger starts again, so does its anchor
    Settings.from_env().ledger_anchor.unlink(missing_ok=True)
    state = open_store(f"sqlite:///{state_file}")
    if case["person"] is not None:
        add_hold(
            state, KEY, identity="email", value=f"p{case['person']}@example.com", reason="case"
        )
    fates, n_delete, n_anon, n_held = reference(case)
    p = plan(project, state, NOW)
    (item,) = p.items
    assert (item.delete, item.anonymise, item.held) == (n_delete, n_anon, n_held)
    before = read_all(url)
    report = sweep(project, state, NOW, batch_size=2)
    assert report.status == "done", report.error
    (res,) = report.results
    assert (res.deleted, res.anonymised, res.held) == (n_delete, n_anon, n_held)

    def fate(table: str, row: Row) -> Row | None:
        if table != "c0":
            return row
        f = fates[row["id"]]
        if f == "delete":
            return None
        if f == "anonymise":
            return {**row, "note": "[redacted]"}
        return row

    after = read_all(url)
    assert_effects(before, after, fate)
    again = sweep(project, state, NOW)
    assert [(r.deleted, r.anonymised) for r in again.results] == [(0, 0)]
    assert read_all(url) == after
    state.dispose()


def test_two_references_away_changes_only_rows_of_inactive_customers(
    any_url: str, tmp_path: Path
) -> None:
    """order_items -> orders -> customers.last_login (issue #9.1): 3 of 6 items expired."""
    project = write_project(tmp_path / "p", rules("delete", False), chain_map(2))
    create(
        any_url,
        ddl(2),
        {
            "c2": [
                {"id": 1, "email": "a@example.com", "last_login": datetime(2020, 1, 1)},
                {"id": 2, "email": "b@example.com", "last_login": datetime(2026, 5, 1)},
            ],
            "c1": [{"id": k, "parent_id": 1 + k % 2, "note": None} for k in range(1, 5)],
            "c0": [{"id": k, "parent_id": 1 + k % 4, "note": "x"} for k in range(1, 7)],
        },
    )
    state = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    p = plan(project, state, NOW)
    # c0 rows 1, 3, 5 -> orders 2, 4 -> customer 1 (inactive); rows 2, 4, 6 -> customer 2
    assert [(i.delete, i.anonymise, i.held) for i in p.items] == [(3, 0, 0)]
    before = read_all(any_url)
    sweep(project, state, NOW)
    assert_effects(
        before,
        read_all(any_url),
        lambda t, r: None if t == "c0" and r["id"] % 2 == 1 else r,
    )
    assert sa is not None

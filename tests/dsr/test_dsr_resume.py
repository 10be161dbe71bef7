"""An erasure killed mid-run (SIGKILL in a subprocess) finishes when run again: no double
effects, no missed rows; the final state equals a clean run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.config import Settings
from troth.connectors.sql import _with_driver
from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, erase, status
from troth.dsr.execute import CRASH_ENV

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "customer7@example.com"
KEY = "test-secret-key-0123456789abcdef"

MAP = """\
troth: 1
kind: datamap
systems:
  - name: shop
    datasets:
      - name: shop
        connection: shop_db
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email], mask: hash}
              - {name: first_name, categories: [user.name], mask: redact}
              - {name: phone, categories: [user.contact.phone_number], mask: "null"}
          - name: licences
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
              - {name: licence_key, categories: [user.authorization.licence_credentials], mask: hash}
          - name: support_tickets
            erase: delete_row
            fields:
              - {name: id, primary_key: true}
              - name: customer_id
                references: [{field: customers.id, kind: owns}]
      - name: desk
        connection: desk_db
        tables:
          - name: tickets
            fields:
              - {name: id, primary_key: true}
              - {name: email, identity: email, categories: [user.contact.email], mask: hash}
              - {name: body, categories: [user.content.private], mask: redact}
              - name: customer_id
                references: [{field: shop.customers.id, kind: owns}]
          - name: subscribers       # the e-mail address is the key
            erase: delete_row
            fields:
              - {name: email, primary_key: true, identity: email, categories: [user.contact.email]}
              - {name: topic}
"""


def _make(tmp: Path, shop_url: str) -> tuple[Path, dict[str, str]]:
    create_demo_db(shop_url, "mydigisoft", customers=20)
    desk_url = f"sqlite:///{tmp / 'desk.db'}"
    engine = sa.create_engine(desk_url)
    with engine.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE tickets (id INTEGER PRIMARY KEY, email VARCHAR(255), body TEXT, "
            "customer_id INTEGER)"
        )
        for i in range(1, 41):
            c.exec_driver_sql(
                "INSERT INTO tickets VALUES (?, ?, ?, ?)",
                (i, f"customer{1 + i % 20}@example.com", f"question {i}", 1 + (i + 3) % 20),
            )
        c.exec_driver_sql("CREATE TABLE subscribers (email VARCHAR(255) PRIMARY KEY, topic TEXT)")
        for i in range(1, 21):
            c.exec_driver_sql(
                "INSERT INTO subscribers VALUES (?, ?)", (f"customer{i}@example.com", "news")
            )
    engine.dispose()
    project = tmp / "project"
    project.mkdir()
    (project / "policy.yaml").write_text((ROOT / "tests/fixtures/shop/policy.yaml").read_text())
    (project / "datamap.yaml").write_text(MAP)
    env = {
        "TROTH_HOME": str(tmp / "home"),
        "TROTH_SECRET_KEY": KEY,
        "TROTH_CONN_SHOP_DB": shop_url,
        "TROTH_CONN_DESK_DB": desk_url,
    }
    return project, env


def _state(env: dict[str, str]) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    queries = {
        "SHOP": {
            "customers": "SELECT id, email, first_name, phone FROM customers",
            "licences": "SELECT id, customer_id, licence_key FROM licences",
            "support_tickets": "SELECT id, customer_id FROM support_tickets",
        },
        "DESK": {
            "tickets": "SELECT id, email, body, customer_id FROM tickets",
            "subscribers": "SELECT email, topic FROM subscribers",
        },
    }
    for conn, tables in queries.items():
        engine = sa.create_engine(_with_driver(env[f"TROTH_CONN_{conn}_DB"]))
        with engine.connect() as c:
            for table, sql in tables.items():
                out[table] = sorted(tuple(str(v) for v in r) for r in c.exec_driver_sql(sql))
        engine.dispose()
    return out


def _run_killed(project: Path, env: dict[str, str], crash: str) -> int:
    code = textwrap.dedent(f"""
        from troth.dsr import Identity, erase
        erase({str(project)!r}, [Identity("email", {EMAIL!r})])
    """)
    full = {**os.environ, **env, CRASH_ENV: crash, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", code], env=full, timeout=120, check=False
    ).returncode


def _in_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv(CRASH_ENV, raising=False)


@pytest.mark.parametrize("crash", ["store:1", "step:1", "step:2"])
def test_killed_erasure_resumes_to_the_clean_result(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    # a clean run, for comparison (SQLite)
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean_project, clean_env = _make(clean_dir, f"sqlite:///{clean_dir / 'shop.db'}")
    _in_env(clean_env, monkeypatch)
    assert erase(clean_project, [Identity("email", EMAIL)]).status == "completed"
    clean = _state(clean_env)

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    project, env = _make(run_dir, db_url)
    before = _state(env)
    assert _run_killed(project, env, crash) == -signal.SIGKILL
    _in_env(env, monkeypatch)
    (info,) = status(settings=Settings.from_env())
    assert info.status == "running"  # not reported complete
    assert info.resolved_at  # the key set was saved before the first write
    middle = _state(env)
    with sa.create_engine(f"sqlite:///{run_dir / 'home' / 'troth.db'}").connect() as c:
        keyset = repr(c.exec_driver_sql("SELECT * FROM dsr_keyset").all())
    assert "subscribers" in keyset  # saved, with the e-mail key as a keyed hash only
    assert EMAIL not in keyset
    assert "customer7" not in keyset
    if crash == "store:1":
        # one store committed (its tables changed), the other had not started
        shop = middle["customers"] != before["customers"]
        desk = (middle["tickets"], middle["subscribers"]) != (
            before["tickets"],
            before["subscribers"],
        )
        assert shop != desk
    else:
        assert middle == before  # the store's transaction rolled back as a whole

    again = erase(project, [Identity("email", EMAIL)])
    assert again.status == "completed"
    assert again.request is not None
    assert again.request.id == info.id
    assert _state(env) == clean
    with sa.create_engine(f"sqlite:///{run_dir / 'home' / 'troth.db'}").connect() as c:
        # dropped with the completion (nothing is left to resume)
        assert c.exec_driver_sql("SELECT count(*) FROM dsr_keyset").scalar() == 0
    # and once more: nothing changes (no double masking)
    erase(project, [Identity("email", EMAIL)])
    assert _state(env) == clean

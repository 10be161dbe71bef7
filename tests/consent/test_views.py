"""Purpose-bound views on SQLite, PostgreSQL and MariaDB: fields and people of a purpose only."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.consent import ConsentLedger, NewEvent
from troth.consent.views import apply_views, drop_views, plan_views, run_for_purpose, sync_state
from troth.errors import PurposeDeniedError
from troth.project import load_project
from troth.store import open_store

ROOT = Path(__file__).resolve().parents[2]
MD = ROOT / "examples" / "mydigisoft"
N = 60


def _load_shop(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    ddl = (MD / "schema.sql").read_text()
    statements = [s for s in ddl.split(";") if s.strip() and "CREATE" in s.upper()]
    with engine.begin() as conn:
        for stmt in statements:
            lines = [ln for ln in stmt.splitlines() if not ln.strip().startswith("--")]
            conn.exec_driver_sql("\n".join(lines))
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, first_name, last_name, email) VALUES (:i, :f, :l, :e)"
            ),
            [
                {"i": i, "f": f"First{i}", "l": f"Last{i}", "e": f"Customer{i}@example.test"}
                for i in range(1, N + 1)
            ],
        )
        conn.execute(
            sa.text(
                "INSERT INTO marketing_preferences (customer_id, email_opt_in, channel) "
                "VALUES (:i, :o, 'notification_desk')"
            ),
            [{"i": i, "o": int(i % 3 == 0)} for i in range(1, N + 1)],
        )
    return engine


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def shop_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "mysql_url"))


def test_md_3_marketing_audience_view_is_opted_in_customers_email_only(
    shop_url: str, sqlite_url: str
) -> None:
    project = load_project(MD)
    assert project.datamap is not None
    datamap = project.datamap.datamap
    policy = project.policy.policy
    ledger = ConsentLedger(open_store(sqlite_url), policy, key=b"v" * 32)
    events = []
    for i in range(1, N + 1):
        email = f"customer{i}@example.test"  # identifiers are matched case-insensitively
        if i % 3 == 0:
            events.append(NewEvent(email, "marketing_email", "given"))
        elif i % 3 == 1:  # gave, then withdrew: not in the audience
            events.append(
                NewEvent(email, "marketing_email", "given", event_time="2026-01-01T00:00:00Z")
            )
            events.append(NewEvent(email, "marketing_email", "withdrawn"))
    ledger.record_many(events)
    engine = _load_shop(shop_url)
    plans = plan_views(policy, datamap, engine.dialect.name)
    by_name = {p.name: p for p in plans}
    view = by_name["troth_marketing_email__customers"]
    assert view.columns == ["id", "email"]
    assert view.filtered_by == "customers"
    with engine.begin() as conn:
        apply_views(conn, plans)
        counts = sync_state(conn, ledger, datamap)
    assert counts["marketing_email"] == N // 3
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM troth_marketing_email__customers").all()
        hand = conn.exec_driver_sql(
            "SELECT count(*) FROM customers c JOIN marketing_preferences m "
            "ON m.customer_id = c.id WHERE m.email_opt_in = 1"
        ).scalar_one()
        cols = list(conn.exec_driver_sql("SELECT * FROM troth_marketing_email__customers").keys())
        contract = conn.exec_driver_sql(
            "SELECT count(*) FROM troth_order_fulfilment__customers"
        ).scalar_one()
    assert len(rows) == hand == N // 3
    assert cols == ["id", "email"]
    assert contract == N  # contract purpose: every customer, no consent filter
    # withdrawing and re-syncing shrinks the audience inside the database
    ledger.record(NewEvent("customer3@example.test", "marketing_email", "withdrawn"))
    with engine.begin() as conn:
        sync_state(conn, ledger, datamap)
    with engine.connect() as conn:
        n = conn.exec_driver_sql(
            "SELECT count(*) FROM troth_marketing_email__customers"
        ).scalar_one()
    assert n == N // 3 - 1
    with engine.begin() as conn:
        drop_views(conn, plans)
    assert "troth_marketing_email__customers" not in sa.inspect(engine).get_view_names()


def test_run_for_purpose_refuses_fields_outside_it(tmp_path: Path) -> None:
    project = load_project(MD)
    assert project.datamap is not None
    engine = _load_shop(f"sqlite:///{tmp_path / 's.db'}")
    customers = sa.table("customers", sa.column("id"), sa.column("email"), sa.column("phone"))
    kw = {"policy": project.policy.policy, "datamap": project.datamap.datamap}
    with engine.connect() as conn:
        rows = run_for_purpose(
            conn, "marketing_email", sa.select(customers.c.id, customers.c.email), **kw
        ).all()
        assert len(rows) == N
        with pytest.raises(PurposeDeniedError, match=r"customers\.phone"):
            run_for_purpose(conn, "marketing_email", sa.select(customers.c.phone), **kw)


def test_views_cli_plan_apply_drop(
    troth_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from troth.cli import main

    assert main(["views", "plan", str(MD), "--dialect", "sqlite"]) == 0
    out = capsys.readouterr().out
    assert "troth_marketing_email__customers: id, email" in out
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    _load_shop(url)
    assert main(["views", "apply", str(MD), "--url", url]) == 0
    assert "marketing_email: 0" in capsys.readouterr().out
    assert main(["views", "drop", str(MD), "--url", url]) == 0

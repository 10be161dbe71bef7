"""The breach register: people counted through the map as hand-written SQL counts them, the
72-hour clock, notices drafted, every change in the ledger; and its evidence in `troth prove`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.audit.verify import verify
from troth.breach.affected import count_affected, parse_tables
from troth.breach.notices import authority_notice, people_notice
from troth.breach.register import Breaches, Risk
from troth.cli import main
from troth.config import Settings
from troth.connectors.sql import _with_driver
from troth.errors import ConfigError, RequestError
from troth.project import load_project
from troth.store import open_store


def _store() -> sa.Engine:
    return sa.create_engine(_with_driver(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"]))


def _hand(sql: str) -> int:
    engine = _store()
    try:
        with engine.connect() as c:
            return int(c.execute(sa.text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_people_are_counted_as_hand_sql_counts_them(mydigisoft: Path) -> None:
    datamap = load_project(mydigisoft).datamap
    assert datamap is not None
    dm = datamap.datamap
    engine = _store()
    try:
        items = count_affected(dm, {"shop": engine}, parse_tables(dm, ["shop.order_items"]))
        assert items.people == {
            "shop.customers": _hand(
                "SELECT count(DISTINCT c.id) FROM customers c JOIN orders o "
                "ON o.customer_id = c.id JOIN order_items i ON i.order_id = o.id"
            )
        }
        assert items.rows == {"shop.order_items": _hand("SELECT count(*) FROM order_items")}
        both = count_affected(
            dm, {"shop": engine}, parse_tables(dm, ["shop.licences", "shop.marketing_preferences"])
        )
        assert both.people["shop.customers"] == _hand(
            "SELECT count(*) FROM (SELECT c.id FROM customers c JOIN licences l "
            "ON l.customer_id = c.id UNION SELECT c.id FROM customers c "
            "JOIN marketing_preferences m ON m.customer_id = c.id) t"
        )
        # a reference list is referred to, never owned: exposing it exposes nobody
        assert (
            count_affected(dm, {"shop": engine}, parse_tables(dm, ["shop.countries"])).people == {}
        )
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match=r"no table 'shop\.nope'"):
        parse_tables(dm, ["shop.nope"])


def test_the_register_keeps_the_clock_and_the_ledger(mydigisoft: Path, tmp_path: Path) -> None:
    settings = Settings.from_env()
    engine = open_store(settings)
    project = load_project(mydigisoft)
    assert project.datamap is not None
    register = Breaches(engine, actor="dpo")
    store = _store()
    try:
        info = register.open(
            project.datamap.datamap,
            {"shop": store},
            tables=["shop.customers", "shop.support_tickets"],
            detected_at=datetime.now(UTC) - timedelta(hours=80),
            description="a support export was sent to the wrong address",
        )
    finally:
        store.dispose()
    now = datetime.now(UTC)
    assert info.overdue(now)
    assert info.hours_left(now) < 0
    assert "user.contact.email" in info.categories
    assert info.people["shop.customers"] == _hand("SELECT count(*) FROM customers")
    draft = authority_notice(project.policy.policy, info)
    assert f"data subjects concerned: {sum(info.people.values())}" in draft
    assert "Reasons for the delay" in draft
    assert "support export" in people_notice(project.policy.policy, info)
    # nothing personal in the drafts or the register: counts and categories only
    assert "@example.com" not in draft

    told = register.notify(info.id, "authority")
    assert told.late()
    assert not told.overdue(now)
    register.update(info.id, risk=Risk.high, contained=True)
    register.update(info.id, close=True)
    with pytest.raises(RequestError, match="closed"):
        register.notify(info.id, "people")
    kinds = sa.table("audit_entry", sa.column("kind"), sa.column("data"))
    with engine.connect() as c:
        rows = c.execute(
            sa.select(kinds.c.kind, kinds.c.data).where(kinds.c.kind.like("breach.%"))
        ).all()
    assert [k for k, _ in rows] == [
        "breach.opened", "breach.notified", "breach.updated", "breach.updated"
    ]  # fmt: skip
    assert json.loads(rows[1][1])["late"] is True
    assert "@" not in "".join(d for _, d in rows)
    assert verify(engine, settings=settings).ok


def test_breach_cli(mydigisoft: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["breach", "open", str(mydigisoft), "--table", "shop.orders"]
    assert main([*args, "--description", "stolen laptop", "--risk", "risk"]) == 0
    out = capsys.readouterr().out
    breach_id = out.split()[0]
    assert "h left to notify the authority" in out
    assert main(["breach", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == breach_id
    assert listed["overdue"] is False
    assert main(["breach", "draft", str(mydigisoft), breach_id, "authority"]) == 0
    assert "Art. 33" in capsys.readouterr().out
    assert main(["breach", "notify", breach_id, "authority"]) == 0
    assert main([*args, "--description", "x", "--risk", "sometimes"]) == 2
    assert "use: unknown, unlikely, risk, high" in capsys.readouterr().err
    assert main(["breach", "open", str(mydigisoft), "--table", "nope", "--description", "x"]) == 2


def test_an_overdue_breach_breaks_the_security_promises(mydigisoft: Path, tmp_path: Path) -> None:
    from troth.prove import Status, prove

    settings = Settings.from_env()
    project = load_project(mydigisoft)
    assert project.datamap is not None
    store = _store()
    try:
        Breaches(open_store(settings)).open(
            project.datamap.datamap,
            {"shop": store},
            tables=["shop.orders"],
            detected_at=datetime.now(UTC) - timedelta(days=4),
            description="backup left public",
        )
    finally:
        store.dispose()
    result = prove(mydigisoft, output=tmp_path / "p", settings=settings)
    proof = next(p for p in result.promises if p.id == "MD-9")
    verdict = next(v for v in proof.verdicts if v.mechanism == "breach register")
    assert verdict.status is Status.broken
    assert result.status_of("MD-9") is Status.broken

"""What a process keeps between requests (the loaded project, its plans, store schemas) never
hides a change: an edit to the policy, the map or the store's schema shows on the next call."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.dsr.conftest import copy_project

from troth.connectors.sql import SqlConnector, _with_driver
from troth.dsr import Identity, access
from troth.dsr.stores import Stores, forget_schemas
from troth.project import cached_project, forget_projects, load_project

EMAIL = "customer7@example.com"


def _alter(sql: str) -> None:
    engine = sa.create_engine(_with_driver(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"]))
    try:
        with engine.begin() as c:
            c.exec_driver_sql(sql)
    finally:
        engine.dispose()


def test_a_schema_is_read_once_until_it_changes(
    mydigisoft: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = SqlConnector.introspect

    def counting(self: SqlConnector) -> Any:
        calls.append(self.name)
        return real(self)

    monkeypatch.setattr(SqlConnector, "introspect", counting)
    forget_schemas()
    for _ in range(3):
        with Stores() as stores:
            info = stores.schema("mydigisoft_shop").table("customers")
            assert info is not None
            assert info.column("nickname") is None
    assert calls == ["mydigisoft_shop"]
    _alter("ALTER TABLE customers ADD COLUMN nickname VARCHAR(40)")
    with Stores() as stores:  # the very next request sees it
        info = stores.schema("mydigisoft_shop").table("customers")
        assert info is not None
        assert info.column("nickname") is not None
    assert len(calls) == 2
    _alter("CREATE TABLE late_table (id INTEGER PRIMARY KEY)")
    with Stores() as stores:
        assert stores.schema("mydigisoft_shop").table("late_table") is not None
    assert len(calls) == 3


def test_policy_and_map_edits_show_on_the_next_call(mydigisoft: Path, tmp_path: Path) -> None:
    project = copy_project(mydigisoft, tmp_path / "project")
    first = access(project, [Identity("email", EMAIL)], output=tmp_path / "1.zip")
    assert first.ok
    assert first.request is not None
    assert first.request.jurisdiction is None
    assert "shop.support_tickets" in {t["table"] for t in first.tables}
    assert cached_project(project) is cached_project(project)  # unchanged: reused

    policy = project / "policy.yaml"
    policy.write_text(
        policy.read_text().replace("\njurisdictions: []", "\njurisdictions: [lgpd]", 1)
    )
    datamap = project / "datamap.yaml"
    text = datamap.read_text()
    start = text.index("\n          - name: support_tickets")
    end = text.index("\n          - name:", start + 10)
    datamap.write_text(text[:start] + text[end:])  # the map forgets a table

    second = access(project, [Identity("email", EMAIL)], output=tmp_path / "2.zip")
    assert second.ok
    assert second.request is not None
    assert second.request.jurisdiction == "lgpd"  # the edited policy, at once
    assert "shop.support_tickets" not in {t["table"] for t in second.tables}
    assert cached_project(project).digest == load_project(project).digest


def test_projects_do_not_share_what_they_derive(mydigisoft: Path, tmp_path: Path) -> None:
    """Two copies of one project at two paths: an edit to one does not reach the other."""
    forget_projects()
    a = copy_project(mydigisoft, tmp_path / "a")
    b = copy_project(mydigisoft, tmp_path / "b")
    assert cached_project(a) is not cached_project(b)
    datamap = b / "datamap.yaml"
    text = datamap.read_text()
    start = text.index("\n          - name: support_tickets")
    end = text.index("\n          - name:", start + 10)
    datamap.write_text(text[:start] + text[end:])
    ra = access(a, [Identity("email", EMAIL)], output=tmp_path / "a.zip")
    rb = access(b, [Identity("email", EMAIL)], output=tmp_path / "b.zip")
    assert "shop.support_tickets" in {t["table"] for t in ra.tables}
    assert "shop.support_tickets" not in {t["table"] for t in rb.tables}
    summary = json.dumps(rb.to_dict())
    assert "support_tickets" not in summary

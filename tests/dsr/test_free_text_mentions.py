"""Mentions in free text (issue 13): a request finds (access) and redacts (erasure) the person's
exact identifiers written in `free_text` fields of other people's rows, set-based in the database,
on SQLite, PostgreSQL and MariaDB; other people's identifiers that contain the person's are never
touched."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from troth.connectors.sql import _with_driver
from troth.dsr import Identity, access, erase
from troth.dsr.plan import build_plan
from troth.project import load_project

ME = "customer8@example.com"
MENTION = "Please also send the licence to Customer8@Example.com, thanks."
OTHERS = "cc xcustomer8@example.com and customer8@example.com.au"


def _exec(sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(_with_driver(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"]))
    try:
        with engine.begin() as c:
            result = c.execute(sa.text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _project(mydigisoft: Path, tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(mydigisoft / name, project / name)
    dm = project / "datamap.yaml"
    old = "- {name: body, categories: [user.content.private.support_query]}"
    text = dm.read_text()
    assert old in text
    dm.write_text(text.replace(old, old[:-1] + ", free_text: true}"))
    # customer 7's ticket mentions customer 8; customer 9's holds look-alikes of other people
    _exec("UPDATE support_tickets SET body = :b WHERE customer_id = 7", b=MENTION)
    _exec("UPDATE support_tickets SET body = :b WHERE customer_id = 9", b=OTHERS)
    return project


def test_plan_lists_free_text_mentions(mydigisoft: Path, tmp_path: Path) -> None:
    project = load_project(_project(mydigisoft, tmp_path))
    assert project.datamap is not None
    plan = build_plan(project.datamap.datamap, ["email"], "erase")
    text = [m for m in plan.mentions if m.text]
    assert [(str(m.table), m.where) for m in text] == [("shop.support_tickets", "body (free text)")]
    assert plan.to_dict()["mentions"][-1]["free_text"] is True


def test_access_includes_the_mention_never_the_rest_of_the_text(
    mydigisoft: Path, tmp_path: Path
) -> None:
    project = _project(mydigisoft, tmp_path)
    out = tmp_path / "export.zip"
    result = access(project, [Identity("email", ME)], output=out)
    assert result.status == "completed"
    with zipfile.ZipFile(out) as zf:
        mentions = json.loads(zf.read("json/mentions.json"))
        everything = b"".join(zf.read(n) for n in zf.namelist()).decode("utf-8", "replace")
    (ticket7,) = _exec("SELECT id FROM support_tickets WHERE customer_id = 7")
    assert mentions == [
        {
            "table": "shop.support_tickets",
            "key": {"id": ticket7[0]},
            "column": "body",
            "path": "",
            "value": ME,
        }
    ]
    assert "Please also send" not in everything  # the other person's text is not theirs
    assert "xcustomer8" not in everything


def test_erasure_redacts_the_mention_only_and_the_dry_run_counts_it(
    mydigisoft: Path, tmp_path: Path
) -> None:
    project = _project(mydigisoft, tmp_path)
    before = _exec("SELECT id, customer_id, requester_email, subject, body FROM support_tickets")
    dry = erase(project, [Identity("email", ME)], dry_run=True)
    counted = {(t["table"], t["action"]): t["rows"] for t in dry.tables}
    assert counted[("shop.support_tickets", "mask_mention")] == 1
    assert (
        _exec("SELECT id, customer_id, requester_email, subject, body FROM support_tickets")
        == before
    )

    result = erase(project, [Identity("email", ME)])
    assert result.status == "completed"
    ((body7,),) = _exec("SELECT body FROM support_tickets WHERE customer_id = 7")
    assert body7 == "Please also send the licence to [redacted], thanks."
    ((body9,),) = _exec("SELECT body FROM support_tickets WHERE customer_id = 9")
    assert body9 == OTHERS  # someone else's identifiers that contain the person's: untouched
    after = {r[0]: r for r in _exec("SELECT id, customer_id, requester_email, subject, body "
                                    "FROM support_tickets")}  # fmt: skip
    for row in before:
        if row[1] in (7, 8):
            continue  # customer 8's own ticket is erased by the plan; 7's was checked above
        assert after[row[0]] == row

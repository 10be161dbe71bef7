"""From the privacy centre to the worker and back: a request filed and verified at /privacy is
run by `troth serve`'s embedded jobs when the policy approves it automatically, and the person
gets the "completed" notice with the single-use link to the access copy; no notice twice."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from centre_helpers import csrf
from centre_support import EXAMPLES, Mailbox

from servers import start_serve
from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.store import open_store
from troth.worker.jobs import Context
from troth.worker.requester import notify_requester


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(EXAMPLES / "mydigisoft" / name, project / name)
    with (project / "policy.yaml").open("a") as fh:
        fh.write("\nrequests:\n  approval:\n    access: automatic\n")
    return project


def _status(state: str, request_id: str) -> str:
    engine = sa.create_engine(state)
    t = sa.table("dsr_request", sa.column("id"), sa.column("status"))
    try:
        with engine.connect() as c:
            return str(c.execute(sa.select(t.c.status).where(t.c.id == request_id)).scalar_one())
    finally:
        engine.dispose()


def test_a_verified_access_request_runs_and_the_person_gets_the_link(
    centre_env: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = centre_env
    project = _project(tmp_path)
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(store, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", store)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("TROTH_DATABASE_URL", state)
    monkeypatch.setenv("TROTH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TROTH_QUEUE_URL", raising=False)
    proc, base = start_serve(project, state, os.environ)
    who = "customer3@example.com"
    try:
        with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as c:
            data = {"csrf": csrf(c), "kind": "access", "identity": who, "identity_type": "email"}
            sent = c.post("/privacy/request", data=data)
            assert sent.status_code == 303, sent.text
            location = sent.headers["location"]
            done = c.post(location, data={"csrf": csrf(c, location), "code": box.code(who)})
            assert done.status_code in (200, 303), done.text
        # the code, "received", then "completed" once the embedded jobs ran the request
        completed = box.wait(who, 3, timeout=60)
        body = completed.get_content()
        assert re.search(r"/privacy/download/\S+", body), body
    finally:
        proc.terminate()
        proc.wait(10)
    engine = open_store(Settings.from_env())
    entries = sa.table("audit_entry", sa.column("kind"), sa.column("subject"), sa.column("data"))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(entries.c.subject, entries.c.data).where(entries.c.kind == "notice.sent")
        ).all()
    request_id = rows[-1][0].split(":", 1)[1]
    assert _status(state, request_id) == "completed"
    assert '"completed"' in rows[-1][1]
    assert who not in "".join(d for _, d in rows)  # the ledger holds no address
    # at least once: the same message again sends nothing more
    ctx = Context(project, Settings.from_env())
    assert notify_requester(ctx, request_id, "completed") == "already sent"
    time.sleep(0.2)
    assert len(box.to(who)) == 3

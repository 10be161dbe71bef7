"""`troth jobs`: the outbox, the queue's jobs by status, and stuck jobs (their worker stopped
sending heartbeats) made visible."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest
from workerkit import KEY

from troth.cli import main
from troth.worker.engine import conninfo, ensure_schema
from troth.worker.status import queue_status

pytestmark = pytest.mark.postgres


def test_stuck_jobs_are_those_of_silent_workers(
    pg_db: Callable[[], str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg_db()
    ensure_schema(url)
    ensure_schema(url)  # a second worker starting: the schema is there already
    with psycopg.connect(conninfo(url), autocommit=True) as c:
        dead = c.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (NOW() - interval '1 hour') RETURNING id"
        ).fetchone()
        live = c.execute("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id").fetchone()
        assert dead is not None
        assert live is not None
        for worker, request in ((dead[0], "a" * 32), (live[0], "b" * 32)):
            c.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, worker_id) "
                "VALUES ('default', 'troth.run_request', %s, 'doing', %s)",
                (json.dumps({"request_id": request}), worker),
            )
        c.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
            "VALUES ('default', 'troth.run_request', '{}', 'todo')"
        )
    got = queue_status(conninfo(url), 30)
    assert got["jobs"] == {"doing": 2, "todo": 1}
    assert [j["request_id"] for j in got["stuck"]] == ["a" * 32]
    assert got["workers"] == 1

    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    assert main(["jobs", "--db", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["outbox"] == {"pending": 0, "retrying": 0, "failed": 0}
    assert out["queue"]["stuck"][0]["request_id"] == "a" * 32
    assert main(["jobs", "--db", url]) == 0
    text = capsys.readouterr().out
    assert "stuck: job" in text
    assert "1 live worker" in text

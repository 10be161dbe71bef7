"""A stalled job whose copy already waits in the queue (a relay that died sent its outbox row
again) is closed, and the copy runs: the request is not stuck behind the dead job's lock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from workerkit import EXAMPLES, KEY

from troth.config import Settings
from troth.worker.engine import build_app, conninfo, ensure_schema, requeue_stalled
from troth.worker.jobs import Context

pytestmark = pytest.mark.postgres


def test_a_stalled_job_with_a_waiting_copy_gives_way_to_the_copy(
    pg_db: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = pg_db()
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    ctx = Context(EXAMPLES / "mydigisoft", settings)
    ensure_schema(queue)
    app = build_app(ctx, queue)
    lock = "0123456789abcdef0123456789abcdef"

    async def scenario() -> list[tuple[int, str]]:
        async with app.open_async():
            task = app.tasks["troth.run_request"].configure(lock=lock, queueing_lock=lock)
            dead = await task.defer_async(request_id=lock)
            with psycopg.connect(conninfo(queue), autocommit=True) as c:
                row = c.execute(
                    "INSERT INTO procrastinate_workers (last_heartbeat) "
                    "VALUES (now() - interval '1 hour') RETURNING id"
                ).fetchone()
                assert row is not None
                c.execute(
                    "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
                    (row[0], dead),
                )
            copy = await task.defer_async(request_id=lock)  # the relay sent it again
            assert await requeue_stalled(app, 3) == 1
            with psycopg.connect(conninfo(queue)) as c:
                rows = c.execute(
                    "SELECT id, status::text FROM procrastinate_jobs ORDER BY id"
                ).fetchall()
            assert [r[0] for r in rows] == [dead, copy]
            return [(int(r[0]), str(r[1])) for r in rows]

    (_, dead_status), (_, copy_status) = asyncio.run(scenario())
    assert (dead_status, copy_status) == ("failed", "todo")

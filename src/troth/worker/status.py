"""What the workers are doing: the outbox, the queue's jobs by status, and stuck jobs.

A job is **stuck** when it is ``doing`` but its worker sent no heartbeat for ``stalled_after``
seconds (or its worker row is gone): the worker died. Running workers put such jobs back in the
queue themselves (see :mod:`troth.worker.engine`); ``troth jobs`` shows them meanwhile, and jobs
that failed for good.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from troth.store import outbox
from troth.store.db import connect

STUCK_SQL = """
SELECT j.id, j.task_name, j.args, j.attempts, j.worker_id, w.last_heartbeat
  FROM procrastinate_jobs j
  LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
 WHERE j.status = 'doing'
   AND (w.id IS NULL OR w.last_heartbeat < NOW() - make_interval(secs => %s))
 ORDER BY j.id
"""


def outbox_status(engine: Engine) -> dict[str, int]:
    t = outbox.TABLE
    with connect(engine) as conn:
        pending = conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.sent_at.is_(None))
        ).scalar_one()
        failed = conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.sent_at == "failed")
        ).scalar_one()
        retrying = conn.execute(
            sa.select(sa.func.count())
            .select_from(t)
            .where(t.c.sent_at.is_(None), t.c.error.is_not(None))
        ).scalar_one()
    return {"pending": int(pending), "retrying": int(retrying), "failed": int(failed)}


def queue_status(conninfo: str, stalled_after_s: float = 30.0) -> dict[str, Any]:
    """Jobs per status, stuck jobs and failed jobs of the Procrastinate queue at *conninfo*."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is None or row[0] is None:
            return {"jobs": {}, "stuck": [], "failed": [], "workers": 0}
        counts: dict[str, int] = dict(
            conn.execute(
                "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
            ).fetchall()
        )
        stuck = [
            {
                "id": r[0],
                "task": r[1],
                "request_id": (r[2] or {}).get("request_id"),
                "attempts": r[3],
                "worker_id": r[4],
                "last_heartbeat": r[5].isoformat() if r[5] else None,
            }
            for r in conn.execute(STUCK_SQL, (stalled_after_s,)).fetchall()
        ]
        failed = [
            {
                "id": r[0],
                "task": r[1],
                "request_id": (r[2] or {}).get("request_id"),
                "attempts": r[3],
            }
            for r in conn.execute(
                "SELECT id, task_name, args, attempts FROM procrastinate_jobs "
                "WHERE status = 'failed' ORDER BY id DESC LIMIT 50"
            ).fetchall()
        ]
        workers = conn.execute(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat >= NOW() - make_interval(secs => %s)",
            (stalled_after_s,),
        ).fetchone()
    return {
        "jobs": {str(k): int(v) for k, v in counts.items()},
        "stuck": stuck,
        "failed": failed,
        "workers": int(workers[0]) if workers else 0,
    }

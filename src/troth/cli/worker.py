"""``troth worker PATH``: run troth's jobs on the Procrastinate task queue (PostgreSQL)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from troth.cli._console import console, err_console
from troth.config import Settings

QUEUE_ENV = "TROTH_QUEUE_URL"


def queue_url(queue: str | None, settings: Settings) -> str | None:
    """The task queue: --queue, else TROTH_QUEUE_URL; None: no engine (embedded jobs)."""
    return queue or os.environ.get(QUEUE_ENV) or None


def worker(
    path: Annotated[Path, typer.Argument(help="Project folder or policy.yaml.")],
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            help="PostgreSQL URL of the task queue (default: TROTH_QUEUE_URL, else the state DB "
            "when it is PostgreSQL).",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="State database URL (default: TROTH_DATABASE_URL)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once by this process.")] = 1,
    heartbeat: Annotated[
        float, typer.Option(help="Seconds between this worker's heartbeats.")
    ] = 10.0,
    stalled_after: Annotated[
        float,
        typer.Option(help="Seconds without a heartbeat after which a worker's jobs run again."),
    ] = 30.0,
    relay_lease: Annotated[
        float,
        typer.Option(help="Seconds outbox rows claimed by a relay that died wait for another."),
    ] = 30.0,
    name: Annotated[str | None, typer.Option(help="Worker name in the queue.")] = None,
) -> None:
    """Run verified requests, retention schedules and webhooks from the queue until stopped."""
    from troth.errors import ConfigError
    from troth.worker.engine import WorkerOptions, run
    from troth.worker.jobs import Context

    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    url = queue_url(queue, settings)
    if url is None:
        if settings.database_url.startswith("postgresql"):
            url = settings.database_url
        else:
            raise ConfigError(
                "troth worker needs a PostgreSQL task queue",
                where="--queue / TROTH_QUEUE_URL",
                fix="give a PostgreSQL URL; with SQLite state, `troth serve` runs the jobs itself",
            )
    ctx = Context(path, settings)
    opts = WorkerOptions(concurrency, 0.5, heartbeat, stalled_after, relay_lease)
    label = name or f"{socket.gethostname()}-{os.getpid()}"
    err_console.print(f"troth worker {label}: waiting for jobs", highlight=False)
    run(ctx, url, opts, name=label)


def jobs(
    queue: Annotated[
        str | None,
        typer.Option("--queue", help="Task queue URL (default: TROTH_QUEUE_URL)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="State database URL (default: TROTH_DATABASE_URL)."),
    ] = None,
    stalled_after: Annotated[
        float, typer.Option(help="Seconds without a heartbeat that make a running job stuck.")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The outbox, the queue's jobs by status, live workers, stuck and failed jobs."""
    import json

    from troth.store import open_store
    from troth.worker.engine import conninfo
    from troth.worker.status import outbox_status, queue_status

    settings = Settings.from_env()
    if db:
        settings = settings.with_database(db)
    out: dict[str, object] = {"outbox": outbox_status(open_store(settings))}
    url = queue_url(queue, settings)
    if url is None and settings.database_url.startswith("postgresql"):
        url = settings.database_url
    if url is not None:
        out["queue"] = queue_status(conninfo(url), stalled_after)
    if as_json:
        console.out(json.dumps(out, indent=2), highlight=False)
        return
    ob = out["outbox"]
    assert isinstance(ob, dict)
    console.out(
        f"outbox: {ob['pending']} pending ({ob['retrying']} retrying), {ob['failed']} failed",
        highlight=False,
    )
    q = out.get("queue")
    if not isinstance(q, dict):
        console.out("queue: none configured (troth serve runs the jobs)", highlight=False)
        return
    counts = ", ".join(f"{n} {s}" for s, n in sorted(q["jobs"].items())) or "empty"
    console.out(f"queue: {counts}; {q['workers']} live worker(s)", highlight=False)
    for j in q["stuck"]:
        console.out(
            f"stuck: job {j['id']} {j['task']} request {j['request_id']} worker {j['worker_id']} "
            f"last heartbeat {j['last_heartbeat']}",
            highlight=False,
        )
    for j in q["failed"]:
        console.out(
            f"failed: job {j['id']} {j['task']} request {j['request_id']} "
            f"after {j['attempts']} attempt(s)",
            highlight=False,
        )

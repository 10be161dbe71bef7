"""``troth worker``: the jobs on Procrastinate, a PostgreSQL task queue (see docs/architecture.md).

Each worker process runs three things on one event loop:

- Procrastinate's worker: takes jobs (``run_request`` with a lock per request, so one request
  never runs in two places; ``retention_tick`` every minute, deduplicated cluster-wide and
  serialised by a lock), runs them in a thread, retries a job whose store is down with
  exponential back-off;
- the relay: claims rows of troth's outbox and defers their jobs (a queueing lock per request
  stops a second copy while one waits), then marks them sent (with the queue in the state DB,
  only rows whose transactional enqueue failed: :mod:`troth.worker.direct`);
- the stalled-job check: a job whose worker stopped sending heartbeats (killed, machine lost) is
  put back in the queue, and another worker resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager

from troth.dsr.execute import crash_point
from troth.errors import ConfigError, StoreUnavailableError
from troth.store import outbox, safe_url
from troth.worker import direct, jobs, webhooks
from troth.worker.jobs import JOBS, Context, JobCall, RetryLater, jobs_for, sweep_retention

log = logging.getLogger("troth.worker")
RETRY = procrastinate.RetryStrategy(
    max_attempts=8, exponential_wait=5, retry_exceptions={RetryLater}
)
#: a relay that died holding outbox rows leaves them to another relay after this
RELAY_LEASE = timedelta(seconds=30)
#: outbox rows per relay transaction
RELAY_BATCH = 100
SCHEMA_LOCK = 7_361_001  # pg_advisory_lock id while the queue's schema is created


def conninfo(url: str) -> str:
    """A libpq URL for Procrastinate from a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            "the task queue needs a PostgreSQL URL",
            where="--queue / TROTH_QUEUE_URL",
            fix="give postgresql://user@host/db (it may be the state DB); without a queue, "
            "`troth serve` runs the jobs itself",
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(url: str) -> None:
    """Create Procrastinate's tables once (workers starting together wait for each other)."""
    import psycopg

    try:
        conn = psycopg.connect(conninfo(url), autocommit=True)
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(
            f"cannot connect to the task queue ({str(exc).splitlines()[0][-160:]})",
            where=safe_url(url),
            fix="check that PostgreSQL is running and the queue URL (--queue, TROTH_QUEUE_URL)",
        ) from None
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                conn.execute(SchemaManager.get_schema())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def build_app(ctx: Context, url: str) -> procrastinate.App:
    """The Procrastinate app with troth's tasks bound to *ctx*."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))

    @app.task(name="troth.run_request", retry=RETRY)
    def run_request(request_id: str, force: bool = False) -> str:
        return str(JOBS["run_request"](ctx, request_id=request_id, force=force))

    @app.task(name="troth.deliver_webhooks", retry=RETRY)
    def deliver_webhooks(event_id: int, topic: str, payload: dict[str, Any]) -> int:
        return int(JOBS["deliver_webhooks"](ctx, event_id=event_id, topic=topic, payload=payload))

    @app.task(name="troth.notify_requester", retry=RETRY)
    def notify_requester(request_id: str, status: str) -> str:
        return str(JOBS["notify_requester"](ctx, request_id=request_id, status=status))

    @app.task(name="troth.notify_recipient", retry=RETRY)
    def notify_recipient(notice_id: str) -> str:
        return str(JOBS["notify_recipient"](ctx, notice_id=notice_id))

    @app.task(name="troth.notify_team", retry=RETRY)
    def notify_team(request_id: str, notice: str, type: str, due_at: str, days_left: int) -> str:
        args = {"notice": notice, "type": type, "due_at": due_at, "days_left": days_left}
        return str(JOBS["notify_team"](ctx, request_id=request_id, **args))

    @app.periodic(cron="* * * * *", periodic_id="retention")
    @app.task(name="troth.retention_tick", lock="troth-retention", queueing_lock="retention")
    def retention_tick(timestamp: int) -> list[str]:
        return sweep_retention(ctx)

    @app.periodic(cron="* * * * *", periodic_id="deadlines")
    @app.task(name="troth.deadline_tick", lock="troth-deadlines", queueing_lock="deadlines")
    def deadline_tick(timestamp: int) -> int:
        return jobs.deadline_tick(ctx)

    del run_request, deliver_webhooks, notify_requester, notify_recipient, notify_team
    del retention_tick, deadline_tick
    return app


@dataclass
class WorkerOptions:
    concurrency: int = 1
    poll_s: float = 0.5
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    relay_lease_s: float = RELAY_LEASE.total_seconds()


async def relay_once(
    app: procrastinate.App, ctx: Context, *, limit: int = 100, lease: timedelta = RELAY_LEASE
) -> int:
    """Defer the jobs of due outbox rows; returns how many rows were sent.

    PostgreSQL state: the rows are locked, deferred and marked sent in one state-DB transaction
    (:func:`troth.store.outbox.relay_batch`). Other state DBs: claimed with a lease, deferred,
    then marked sent."""
    if ctx.engine.dialect.name == "postgresql":
        loop = asyncio.get_running_loop()
        return await asyncio.to_thread(_relay_locked, app, ctx, loop, limit)
    msgs = await asyncio.to_thread(outbox.claim, ctx.engine, limit=limit, lease=lease)
    sent: list[int] = []
    hooked = webhooks.hooked_once(ctx.engine)
    for n, msg in enumerate(msgs, start=1):
        for call in await asyncio.to_thread(jobs_for, ctx.engine, msg, hooked=hooked):
            await _defer(app, call)
        crash_point("relay", n)  # test hook: die between the enqueue and the mark
        sent.append(msg.id)
    await asyncio.to_thread(outbox.mark_sent, ctx.engine, sent)
    return len(sent)


async def _defer(app: procrastinate.App, call: JobCall) -> None:
    job = app.tasks[f"troth.{call.name}"].configure(lock=call.lock, queueing_lock=call.lock)
    with contextlib.suppress(pexc.AlreadyEnqueued):  # a copy waits: one run serves both
        await job.defer_async(**call.args)


def _relay_locked(
    app: procrastinate.App, ctx: Context, loop: asyncio.AbstractEventLoop, limit: int
) -> int:
    """The PostgreSQL relay pass (in a thread; the defers run on the worker's event loop)."""
    hooked = webhooks.hooked_once(ctx.engine)
    count = 0

    def send(msg: outbox.Message) -> None:
        nonlocal count
        for call in jobs_for(ctx.engine, msg, hooked=hooked):
            asyncio.run_coroutine_threadsafe(_defer(app, call), loop).result()
        count += 1
        crash_point("relay", count)  # test hook: die between the enqueue and the commit

    return outbox.relay_batch(ctx.engine, send, limit=limit)


async def requeue_stalled(app: procrastinate.App, stalled_after_s: float) -> int:
    """Put back the jobs of workers that stopped sending heartbeats; returns how many."""
    jobs = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s))
    for job in jobs:
        log.warning("job %s (%s) stalled: its worker is gone; queued again", job.id, job.task_name)
        try:
            await app.job_manager.retry_job(job)
        except pexc.UniqueViolation:
            # a copy already waits (a relay that died sent the outbox row again): it runs
            # instead, once this one lets go of the lock; the job resumes where it stopped
            log.warning("job %s: a copy waits in the queue; this one is closed", job.id)
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
    return len(jobs)


async def _wakeups(ctx: Context, timeout: float) -> AsyncIterator[None]:
    """Yield when the outbox may have rows: on its NOTIFY (PostgreSQL state), else every
    *timeout* seconds (and at least that often either way)."""
    if ctx.engine.dialect.name != "postgresql":
        while True:
            yield
            await asyncio.sleep(timeout)
    import psycopg

    url = ctx.engine.url.render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as conn:
        await conn.execute(f"LISTEN {outbox.CHANNEL}")
        while True:
            yield
            async for _ in conn.notifies(timeout=timeout, stop_after=1):
                pass
            async for _ in conn.notifies(timeout=0):  # already here: one pass serves them all
                pass


async def _background(app: procrastinate.App, ctx: Context, opts: WorkerOptions) -> None:
    stalled_every = max(opts.heartbeat_s, 1.0)
    loop = asyncio.get_running_loop()
    next_stalled = loop.time() + stalled_every
    lease = timedelta(seconds=opts.relay_lease_s)
    while True:
        try:
            async for _ in _wakeups(ctx, opts.poll_s):
                # a full batch may leave more; rows written after this pass notify again
                while await relay_once(app, ctx, limit=RELAY_BATCH, lease=lease) >= RELAY_BATCH:
                    pass
                if loop.time() >= next_stalled:
                    next_stalled = loop.time() + stalled_every
                    await requeue_stalled(app, opts.stalled_after_s)
        except Exception:  # the state DB or the queue is away: try again
            log.exception("relay pass failed")
            await asyncio.sleep(opts.poll_s)


async def run_async(ctx: Context, url: str, opts: WorkerOptions, *, name: str) -> None:
    app = build_app(ctx, url)
    async with app.open_async():
        background = asyncio.create_task(_background(app, ctx, opts))
        try:
            kwargs: dict[str, Any] = {
                "concurrency": opts.concurrency,
                "name": name,
                "fetch_job_polling_interval": opts.poll_s,
                "update_heartbeat_interval": opts.heartbeat_s,
                "stalled_worker_timeout": opts.stalled_after_s,
                "delete_jobs": "successful",
            }
            await app.run_worker_async(**kwargs)
        finally:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background


def run(ctx: Context, url: str, opts: WorkerOptions, *, name: str = "troth-worker") -> None:
    """Run a worker until SIGINT/SIGTERM (it finishes its current jobs first)."""
    ensure_schema(url)
    direct.install(ctx.settings.database_url, url)  # the queue in the state DB: no relay hop
    asyncio.run(run_async(ctx, url, opts, name=name))

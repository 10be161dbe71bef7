"""The embedded default: with no task engine configured, ``troth serve`` runs the jobs itself.

One background thread drains the outbox and runs each job inline (the same functions as the
engine's workers; woken at once by a job this process writes, or on PostgreSQL state by the
outbox's NOTIFY from any process, such as the ``troth serve --workers`` processes; else polling
every ``poll_s``),
retrying a job whose store is down with back-off; the retention scheduler
runs in its own thread. Meant for one process on SQLite or PostgreSQL state; several processes
need the task engine (``troth worker``, see docs/architecture.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from troth.errors import TrothError
from troth.retention.schedule import Scheduler, start_scheduler
from troth.store import outbox
from troth.store.db import JOBS_WRITTEN
from troth.worker import webhooks
from troth.worker.jobs import JOBS, Context, RetryLater, deadline_tick, jobs_for

log = logging.getLogger("troth.worker")

#: attempts of one job before the outbox row is kept as failed
MAX_ATTEMPTS = 8
#: seconds between deadline checks (reminders, overdue alerts)
TICK_S = 60.0


def backoff(attempt: int) -> timedelta:
    """Seconds before attempt ``attempt + 1``: 5, 10, 20, ... capped at one hour."""
    return timedelta(seconds=min(5 * 2 ** (attempt - 1), 3600))


def run_message(
    ctx: Context,
    msg: outbox.Message,
    *,
    hooked: Callable[[str], bool] | None = None,
    idle: list[int] | None = None,
) -> None:
    """Run the jobs of one message inline; the row is sent, or released for a later attempt.

    *hooked*: whether a topic has webhook endpoints (default: read). *idle*: where a message no
    job acts on goes, for the caller to mark sent with others (default: marked at once)."""
    try:
        calls = jobs_for(ctx.engine, msg, hooked=hooked)
        if not calls and idle is not None:
            idle.append(msg.id)
            return
        for call in calls:
            JOBS[call.name](ctx, **call.args)
    except (RetryLater, TrothError) as exc:
        text = str(exc) if isinstance(exc, RetryLater) else exc.one_line()
        retry = msg.attempts < MAX_ATTEMPTS
        at = outbox.now() + backoff(msg.attempts) if retry else None
        outbox.release(ctx.engine, msg.id, retry_at=at, error=text)
        return
    except Exception as exc:  # a bug: keep the row as failed, keep serving
        log.exception("job of outbox row %s failed", msg.id)
        outbox.release(ctx.engine, msg.id, retry_at=None, error=f"internal error: {exc!r}"[:200])
        return
    outbox.mark_sent(ctx.engine, [msg.id])


def drain(ctx: Context, *, limit: int = 20) -> int:
    """Run the due messages once; returns how many were taken.

    The webhook endpoints are read once for the batch, and the messages no job acts on (most
    status changes) are marked sent together at the end: one transaction, not one each. A
    process that dies first leaves them claimed; they are taken again when the claim ends and
    again ask for nothing."""
    msgs = outbox.claim(ctx.engine, limit=limit)
    hooked = webhooks.hooked_once(ctx.engine)
    idle: list[int] = []
    try:
        for msg in msgs:
            run_message(ctx, msg, hooked=hooked, idle=idle)
    finally:
        outbox.mark_sent(ctx.engine, idle)
    return len(msgs)


class EmbeddedWorker:
    """The jobs thread and the retention scheduler of ``troth serve`` (no task engine)."""

    def __init__(self, ctx: Context, *, poll_s: float = 0.5, retention: bool = True) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self.scheduler: Scheduler | None = (
            start_scheduler(ctx.settings, ctx.project_path) if retention else None
        )

    def start(self) -> None:
        outbox.release_claims(self.ctx.engine)
        self._thread = threading.Thread(target=self._loop, name="troth-jobs", daemon=True)
        self._thread.start()
        if self.ctx.engine.dialect.name == "postgresql":
            self._listener = threading.Thread(
                target=self._listen, name="troth-jobs-listen", daemon=True
            )
            self._listener.start()
        if self.scheduler is not None:
            self.scheduler.start()

    def _loop(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            JOBS_WRITTEN.clear()  # a job written from now on wakes the wait below
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_S
                    deadline_tick(self.ctx)
                busy = drain(self.ctx)
            except Exception:  # the state DB is away: try again later
                log.exception("the jobs thread could not read the outbox")
                busy = 0
            if not busy:
                JOBS_WRITTEN.wait(self.poll_s)

    def _listen(self) -> None:
        """Wake the jobs thread on the outbox's NOTIFY (PostgreSQL state): a job written by
        another process runs at once, not at the next poll. A lost connection is opened again;
        meanwhile the thread polls."""
        import psycopg

        url = self.ctx.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {outbox.CHANNEL}")
                    JOBS_WRITTEN.set()  # rows written while nobody listened
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            JOBS_WRITTEN.set()
            except Exception as exc:  # the server went away: poll until it is back
                log.warning("jobs wake-up: %s; polling", type(exc).__name__)
                self._stop.wait(5.0)

    def stop(self) -> None:
        self._stop.set()
        JOBS_WRITTEN.set()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._listener is not None:  # its connection closes within a second
            self._listener.join(timeout=5)

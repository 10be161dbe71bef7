"""Deadline reminders and overdue alerts: the policy's reminders before the due date, one overdue
alert, each sent once (as a dsr.deadline outbox event, so as a webhook)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from workerkit import NOW, demo_context, due_in

from troth.dsr.deadlines import due_notices, send_notices
from troth.dsr.requests import Requests, Status
from troth.store import outbox
from troth.worker.jobs import Context, deadline_tick


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    return demo_context(tmp_path, monkeypatch)


def _events(ctx: Context) -> list[dict[str, object]]:
    with ctx.engine.connect() as c:
        rows = c.execute(
            sa.select(outbox.TABLE.c.payload).where(outbox.TABLE.c.topic == "dsr.deadline")
        ).scalars()
        return [json.loads(p) for p in rows]


def test_reminders_and_overdue_alerts_are_sent_once(ctx: Context) -> None:
    week = due_in(ctx, 1, timedelta(days=6))
    day = due_in(ctx, 2, timedelta(hours=12))
    late = due_in(ctx, 3, timedelta(days=-2))
    due_in(ctx, 4, timedelta(days=20))  # not yet
    done = due_in(ctx, 5, timedelta(days=-3))
    Requests(ctx.engine, ctx.settings.secret_key).transition(done, Status.denied, reason="spam")
    assert deadline_tick(ctx, NOW) == 3
    got = {e["request_id"]: e for e in _events(ctx)}
    assert got[week]["notice"] == "before:7 days"
    assert got[day]["notice"] == "before:1 day"  # the nearest only, not the stale week one
    assert got[late]["notice"] == "overdue"
    assert got[late]["days_left"] == -2
    assert deadline_tick(ctx, NOW) == 0  # once
    # later: the week request's 1-day reminder, and the day request is overdue now
    assert deadline_tick(ctx, NOW + timedelta(days=5, hours=13)) == 2
    later = {(e["request_id"], e["notice"]) for e in _events(ctx)[3:]}
    assert later == {(week, "before:1 day"), (day, "overdue")}


def test_two_ticks_at_once_send_a_notice_once(ctx: Context) -> None:
    due_in(ctx, 6, timedelta(days=-1))
    reminders = ctx.project.policy.policy.requests.reminders
    first, second = due_notices(ctx.engine, reminders, NOW), due_notices(ctx.engine, reminders, NOW)
    assert send_notices(ctx.engine, first, NOW) == 1
    assert send_notices(ctx.engine, second, NOW) == 0
    assert len(_events(ctx)) == 1

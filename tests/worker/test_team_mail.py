"""Deadline reminders and overdue alerts reach the privacy team by mail (TROTH_TEAM_EMAIL), once
each, through the same outbox rows as their webhooks; a real SMTP server (aiosmtpd) catches them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from workerkit import NOW, demo_context, due_in

from mail import Mailbox, mail_to
from servers import free_port
from troth.store import outbox
from troth.worker import embedded, team
from troth.worker.jobs import Context, RetryLater, deadline_tick, jobs_for

TEAM = "dpo@shop.example.com"


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with mail_to(monkeypatch, "troth@shop.example.com") as mailbox:
        monkeypatch.setenv(team.TEAM_ENV, TEAM)
        for name in ("TROTH_PUBLIC_URL", "TROTH_SERVE_URL", "TROTH_NOTIFY_EMAIL"):
            monkeypatch.delenv(name, raising=False)
        yield mailbox


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    return demo_context(tmp_path, monkeypatch)


def _subject(msg: EmailMessage) -> str:
    return str(msg["Subject"]).strip()  # a long subject is folded onto the next line


def _drain(ctx: Context) -> None:
    while embedded.drain(ctx):
        pass


def test_reminders_and_overdue_alerts_are_mailed_to_the_team_once(
    ctx: Context, box: Mailbox
) -> None:
    week = due_in(ctx, 1, timedelta(days=6))
    late = due_in(ctx, 2, timedelta(days=-2))
    assert deadline_tick(ctx, NOW) == 2
    _drain(ctx)
    assert [m["To"] for m in box.messages] == [TEAM, TEAM]
    subjects = {_subject(m) for m in box.messages}
    assert f"Due in 6 days: erasure request {week} (MyDigiSoft)" in subjects
    assert f"Overdue: erasure request {late} (MyDigiSoft)" in subjects
    body = next(m for m in box.messages if late in _subject(m)).get_content()
    assert "2 days late" in body
    assert "customer2@example.com" not in body  # ids only, never the person's identities
    # the next tick sends nothing new; a later one the week request's one-day reminder
    assert deadline_tick(ctx, NOW) == 0
    _drain(ctx)
    assert len(box.messages) == 2
    assert deadline_tick(ctx, NOW + timedelta(days=5, hours=13)) == 1
    _drain(ctx)
    assert len(box.messages) == 3
    assert _subject(box.messages[2]) == f"Due within a day: erasure request {week} (MyDigiSoft)"


def test_a_notice_delivered_twice_is_mailed_once(ctx: Context, box: Mailbox) -> None:
    rid = due_in(ctx, 3, timedelta(days=-1))
    deadline_tick(ctx, NOW)
    msgs = outbox.claim(ctx.engine)
    (msg,) = [m for m in msgs if m.topic == "dsr.deadline"]
    (call,) = jobs_for(ctx.engine, msg)
    assert call.name == "notify_team"
    assert team.notify_team(ctx, **call.args) == "sent"
    assert team.notify_team(ctx, **call.args) == "already sent"  # at-least-once: one mail
    assert len(box.messages) == 1
    with ctx.engine.connect() as c:
        data = c.execute(
            sa.text("SELECT data FROM audit_entry WHERE kind = 'notice.sent' AND subject = :s"),
            {"s": f"dsr:{rid}"},
        ).scalar_one()
    assert json.loads(data)["deadline"] == f"overdue@{(NOW - timedelta(days=1)).date()}"
    assert TEAM not in data


def test_without_a_team_address_only_the_webhook_event_is_written(
    ctx: Context, box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(team.TEAM_ENV)
    due_in(ctx, 4, timedelta(days=-1))
    deadline_tick(ctx, NOW)
    assert all(jobs_for(ctx.engine, m) == [] for m in outbox.claim(ctx.engine))
    assert box.messages == []


def test_a_mail_server_that_is_away_retries_later(
    ctx: Context, box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TROTH_SMTP_PORT", str(free_port()))  # nobody listens
    monkeypatch.setenv("TROTH_SMTP_ATTEMPTS", "1")
    due_in(ctx, 5, timedelta(days=-1))
    deadline_tick(ctx, NOW)
    (msg,) = [m for m in outbox.claim(ctx.engine) if m.topic == "dsr.deadline"]
    (call,) = jobs_for(ctx.engine, msg)
    with pytest.raises(RetryLater, match="failed after 1 attempts"):
        team.notify_team(ctx, **call.args)


def test_every_job_is_a_task_of_the_engine(ctx: Context) -> None:
    from troth.worker.engine import build_app
    from troth.worker.jobs import JOBS

    app = build_app(ctx, "postgresql+psycopg://troth@127.0.0.1/queue")  # not opened
    assert {f"troth.{name}" for name in JOBS} <= set(app.tasks)

"""Webhooks against a local HTTP receiver: every request change is posted, signed (HMAC-SHA256 over
timestamp and body), retried with back-off until the receiver takes it, each delivery recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from workerkit import EXAMPLES, KEY

from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.dsr.filing import file_request
from troth.dsr.identity import Identity
from troth.dsr.requests import Kind
from troth.errors import ConfigError
from troth.store import outbox
from troth.worker import webhooks
from troth.worker.embedded import drain
from troth.worker.jobs import Context

PROJECT = EXAMPLES / "mydigisoft"


class Receiver:
    """A real HTTP server on a free port that records POSTs and fails the first ``fail`` ones."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.got: list[tuple[int, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = 500 if outer.fail > 0 else 204
                outer.fail -= 1
                outer.got.append((code, dict(self.headers.items()), body))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    shop = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(shop, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", shop)
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    return Context(PROJECT, settings)


def _file(ctx: Context, n: int, *, approve: bool = True) -> str:
    return file_request(
        ctx.engine,
        ctx.settings.secret_key,
        PROJECT,
        Kind.access,
        [Identity("email", f"customer{n}@example.com")],
        actor="test",
        verified=True,
        approve=approve,
    ).id


def _drain_all(ctx: Context) -> None:
    while drain(ctx):
        pass


def test_every_change_is_posted_signed_and_recorded(ctx: Context, receiver: Receiver) -> None:
    endpoint = webhooks.add_endpoint(ctx.engine, ctx.settings.secret_key, receiver.url)
    secret = webhooks.endpoint_secret(ctx.settings.secret_key, endpoint)
    rid = _file(ctx, 1)
    _drain_all(ctx)
    bodies = [json.loads(b) for _, _, b in receiver.got]
    assert [b["status"] for b in bodies] == [
        "received",
        "identity_verified",
        "approved",
        "running",
        "completed",
    ]
    assert {b["request_id"] for b in bodies} == {rid}
    assert {(b["topic"], b["event"]) for b in bodies} == {("dsr.changed", "status")}
    for _, headers, body in receiver.got:
        assert webhooks.verify_signature(secret, headers, body)
        assert b"customer1" not in body  # ids and statuses only
        assert not webhooks.verify_signature(secret, headers, body + b" ")
        assert not webhooks.verify_signature("another secret", headers, body)
        stale = time.time() + webhooks.REPLAY_WINDOW + 5
        assert not webhooks.verify_signature(secret, headers, body, now_s=stale)
    assert len({h["Troth-Webhook-Id"] for _, h, _ in receiver.got}) == 5
    rows = webhooks.deliveries(ctx.engine)
    assert {r["status"] for r in rows} == {"delivered"}
    assert {r["attempts"] for r in rows} == {1}


def test_a_failing_receiver_is_retried_with_back_off(ctx: Context) -> None:
    receiver = Receiver(fail=2)
    try:
        webhooks.add_endpoint(ctx.engine, ctx.settings.secret_key, receiver.url, events="dsr.")
        with ctx.engine.begin() as c:  # one event only: a change recorded by hand
            outbox.emit(c, "dsr.changed", {"request_id": "0" * 32, "status": "denied"})
        for _ in range(3):
            drain(ctx)
            with ctx.engine.begin() as c:  # the back-off has passed
                c.execute(sa.update(outbox.TABLE).values(not_before=None))
        assert [code for code, _, _ in receiver.got] == [500, 500, 204]
        ids = {h["Troth-Webhook-Id"] for _, h, _ in receiver.got}
        assert len(ids) == 1  # one delivery, three attempts: the receiver drops repeats by id
        (row,) = webhooks.deliveries(ctx.engine)
        assert row["status"] == "delivered"
        assert row["attempts"] == 3
        assert outbox.pending(ctx.engine) == 0
    finally:
        receiver.close()


def test_a_receiver_that_never_answers_ends_failed(ctx: Context) -> None:
    webhooks.add_endpoint(ctx.engine, ctx.settings.secret_key, "http://127.0.0.1:9/none")
    with ctx.engine.begin() as c:
        outbox.emit(c, "dsr.changed", {"request_id": "0" * 32, "status": "denied"})
    for _ in range(webhooks.MAX_ATTEMPTS):
        drain(ctx)
        with ctx.engine.begin() as c:
            c.execute(sa.update(outbox.TABLE).values(not_before=None))
    (row,) = webhooks.deliveries(ctx.engine)
    assert row["status"] == "failed"
    assert row["attempts"] == webhooks.MAX_ATTEMPTS
    assert row["last_error"] == "ConnectError"
    assert drain(ctx) == 0


def test_removed_endpoints_get_nothing_and_bad_urls_are_refused(
    ctx: Context, receiver: Receiver
) -> None:
    endpoint = webhooks.add_endpoint(ctx.engine, ctx.settings.secret_key, receiver.url)
    webhooks.disable_endpoint(ctx.engine, endpoint)
    _file(ctx, 2)
    _drain_all(ctx)
    assert receiver.got == []
    with pytest.raises(ConfigError, match="http"):
        webhooks.add_endpoint(ctx.engine, ctx.settings.secret_key, "ftp://example.com/x")


def test_endpoints_are_read_once_per_transaction_and_fresh_in_the_next(ctx: Context) -> None:
    """A filing's state changes ask for the endpoints in one transaction: one read; an endpoint
    added after that transaction is seen by the next one on the same connection."""
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "webhook_endpoint" in statement:
            reads.append(statement)

    sa.event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        with ctx.engine.connect() as conn:
            with conn.begin():
                assert not webhooks.has_endpoints(conn, "dsr.changed")
                assert not webhooks.has_endpoints(conn, "dsr.changed")
            assert len(reads) == 1
            webhooks.add_endpoint(ctx.engine, ctx.settings.secret_key, "http://127.0.0.1:9/h")
            with conn.begin():
                assert webhooks.has_endpoints(conn, "dsr.changed")
                assert not webhooks.has_endpoints(conn, "consent.")  # topic still checked
            assert len([r for r in reads if r.lstrip().upper().startswith("SELECT")]) == 2
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", count)


def test_a_drain_reads_the_endpoints_once_and_marks_idle_messages_together(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of status changes nobody acts on: the endpoints are read once for the batch and
    the rows are marked sent in one statement; a message with a job (an approved request) still
    runs it and is marked after it."""
    reads: list[int] = []
    real = webhooks.list_endpoints

    def counted(bind: Any) -> list[webhooks.Endpoint]:
        reads.append(1)
        return real(bind)

    monkeypatch.setattr(webhooks, "list_endpoints", counted)
    updates: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE WORKER_OUTBOX"):
            updates.append(statement)

    for n in (1, 2, 3):  # verified, not approved: received and verified, no job
        _file(ctx, n, approve=False)
    sa.event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        taken = drain(ctx)
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", record)
    assert taken == 6  # three requests, each received and verified
    assert outbox.pending(ctx.engine) == 0
    assert reads == [1]
    assert len(updates) == 2  # the claim, then one mark for all of them

    rid = _file(ctx, 4)  # approved: its run is a job
    _drain_all(ctx)
    assert outbox.pending(ctx.engine) == 0
    with ctx.engine.connect() as c:
        status = c.exec_driver_sql("SELECT status FROM dsr_request WHERE id = ?", (rid,)).scalar()
    assert status == "completed"

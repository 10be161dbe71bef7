"""Art. 19: erasure, rectification and restriction tell every recipient that received the
person's data (the disclosure register), through its declared channel, retried, with evidence;
a recipient without a channel refuses the request before anything is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mail import Mailbox, mail_to
from troth.config import Settings
from troth.dsr import Identity, erase, rectify, restrict
from troth.errors import RequestError
from troth.notify.webhook import verify_signature
from troth.policy.loader import load_policy
from troth.sharing import Gateway
from troth.sharing.notices import notice_counts, notices
from troth.worker.embedded import drain
from troth.worker.jobs import Context

from .notice_support import PLUS, demo_rows, ledger, plus_project, receiver, state

COURIER_MAIL = "dispatch@courier.example.com"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with mail_to(monkeypatch, "privacy@plus.example.com") as box:
        yield box


def _share(project: Path, rows: list[dict[str, object]]) -> list[str]:
    gw = Gateway.from_project(project, Settings.from_env())
    return [gw.disclose("courier_service", "courier_delivery", r, table="crm_contacts").to_dict()["id"]
            for r in rows]  # fmt: skip


def _run_jobs(project: Path) -> None:
    ctx = Context(project, Settings.from_env())
    while drain(ctx):
        pass


def test_recipient_without_channel_refuses_before_any_write(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = plus_project(tmp_path, {"courier_service": None})  # no notify channel
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    _share(project, rows[:1])
    with pytest.raises(RequestError) as err:
        erase(project, [Identity("email", rows[0]["email"])])  # type: ignore[arg-type]
    text = err.value.one_line()
    assert "courier_service (no notify channel)" in text
    assert "Art. 19" in text
    assert "notify:" in text  # the fix
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        left = c.execute(sa.text("SELECT count(*) FROM crm_contacts WHERE id = :i"),
                         {"i": rows[0]["id"]}).scalar()  # fmt: skip
    engine.dispose()
    assert left == 1  # nothing erased
    with state().connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM dsr_request")).scalar() == 0
    # a person whose data went nowhere is erased without any channel
    assert erase(project, [Identity("email", rows[1]["email"])]).ok  # type: ignore[arg-type]


def test_erasure_notifies_the_courier_by_email_once(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch, smtp: Mailbox
) -> None:
    project = plus_project(tmp_path, {"courier_service": {"email": COURIER_MAIL}})
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    ada, bob = rows
    ids = _share(project, [ada, ada, bob])
    who = [Identity("email", str(ada["email"]))]

    dry = erase(project, who, dry_run=True)
    assert dry.notices == [{"recipient": "courier_service", "channel": "email", "disclosures": 2,
                            "categories": dry.notices[0]["categories"]}]  # fmt: skip
    assert notices(state()) == []

    result = erase(project, who)
    assert result.ok
    assert [n["recipient"] for n in result.notices] == ["courier_service"]
    assert result.request is not None
    rid = result.request.id
    queued = notices(state(), rid)
    assert [(n.recipient, n.channel, n.status) for n in queued] == [
        ("courier_service", "email", "pending")
    ]
    assert notice_counts(state(), [rid]) == {rid: {"pending": 1, "sent": 0, "failed": 0}}

    _run_jobs(project)
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == COURIER_MAIL
    assert "Art. 19" in mail["Subject"]
    body = mail.get_content()
    assert ids[0] in body
    assert ids[1] in body
    assert ids[2] not in body
    assert rid in body
    assert "erase the records you received" in body
    for value in (ada["email"], ada["first_name"], ada["street"], ada["phone"]):
        assert str(value) not in body  # the notice names records, never values
    [sent] = notices(state(), rid)
    assert sent.status == "sent"
    assert sent.attempts == 1
    assert sent.sent_at
    [entry] = ledger("recipient.notified")
    assert entry == {"notice_id": sent.id, "request_id": rid, "recipient": "courier_service",
                     "kind": "erasure", "channel": "email", "attempts": 1, "outcome": "sent"}  # fmt: skip
    with state().connect() as c:
        assert c.execute(sa.text("SELECT sealed FROM outbound_notice")).scalar() is None

    again = erase(project, who)  # the courier was told: a second run tells nobody
    assert again.ok
    assert again.notices == []
    assert len(notices(state())) == 1
    _run_jobs(project)
    assert len(smtp.messages) == 1


def test_rectification_and_restriction_post_signed_webhooks_retried(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURIER_HOOK_KEY", "courier-shared-key-0123456789")
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    ada = rows[0]
    with receiver() as hook:
        project = plus_project(
            tmp_path,
            {"courier_service": {"webhook": hook.url, "secret": "COURIER_HOOK_KEY"}},
        )
        ids = _share(project, [ada])
        who = [Identity("email", str(ada["email"]))]
        hook.fail = [503]  # the first attempt fails: the notice stays pending, then is retried
        fixed = rectify(project, who, {"crm_contacts.city": "Shelbyville"})
        assert fixed.ok
        assert [n["channel"] for n in fixed.notices] == ["webhook"]
        assert fixed.request is not None
        ctx = Context(project, Settings.from_env())
        drain(ctx)
        [pending] = notices(state(), fixed.request.id)
        assert (pending.status, pending.attempts) == ("pending", 1)
        assert pending.error
        assert "answered 503" in pending.error
        with state().begin() as c:  # the back-off's wait, passed
            c.execute(sa.text("UPDATE worker_outbox SET not_before = NULL"))
        drain(ctx)
        [sent] = notices(state(), fixed.request.id)
        assert (sent.status, sent.attempts) == ("sent", 2)
        assert len(hook.posts) == 2
        headers, body = hook.posts[-1]
        assert verify_signature(
            b"courier-shared-key-0123456789", headers["X-Troth-Signature"], body
        )
        assert not verify_signature(b"another key", headers["X-Troth-Signature"], body)
        sent_body = json.loads(body)
        assert sent_body["kind"] == "rectification"
        assert sent_body["disclosures"] == ids
        assert sent_body["fields"] == ["crm_contacts.city"]
        assert "Shelbyville" not in body.decode()
        assert str(ada["email"]) not in body.decode()

        held = restrict(project, who)
        assert [n["recipient"] for n in held.notices] == ["courier_service"]
        _run_jobs(project)
        assert json.loads(hook.posts[-1][1])["kind"] == "restriction"
    kinds = [e["kind"] for e in ledger("recipient.notified")]
    assert kinds == ["rectification", "restriction"]


def test_a_notice_that_keeps_failing_is_kept_as_failed(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from troth.sharing.channels import MAX_ATTEMPTS, deliver_notice

    monkeypatch.setenv("COURIER_HOOK_KEY", "k" * 32)
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    with receiver() as hook:
        project = plus_project(
            tmp_path, {"courier_service": {"webhook": hook.url, "secret": "COURIER_HOOK_KEY"}}
        )
        _share(project, rows[:1])
        result = erase(project, [Identity("email", str(rows[0]["email"]))])
        hook.fail = [500] * MAX_ATTEMPTS
        policy = load_policy(project / "policy.yaml").policy
        [n] = notices(state())
        key = Settings.from_env().secret_key
        outcomes = [
            deliver_notice(state(), key, policy, None, n.id, {"COURIER_HOOK_KEY": "k" * 32})
            for _ in range(MAX_ATTEMPTS + 1)
        ]
    assert outcomes == ["pending"] * (MAX_ATTEMPTS - 1) + ["failed", "failed"]
    assert len(hook.posts) == MAX_ATTEMPTS  # nothing sent after it failed
    assert result.request is not None
    assert notice_counts(state(), [result.request.id])[result.request.id]["failed"] == 1
    [entry] = ledger("recipient.notice_failed")
    assert entry["outcome"] == "failed"
    assert "answered 500" in entry["error"]


def test_notify_declares_exactly_one_channel(tmp_path: Path) -> None:
    from troth.errors import PolicyLoadError

    [courier] = [r for r in load_policy(PLUS / "policy.yaml").policy.recipients if r.notify]
    assert (courier.id, courier.notify.channel) == ("courier_service", "email")  # type: ignore[union-attr]

    both = plus_project(
        tmp_path, {"courier_service": {"email": COURIER_MAIL, "webhook": "https://x.example.com"}}
    )
    with pytest.raises(PolicyLoadError, match="exactly one of email, webhook or service"):
        load_policy(both / "policy.yaml")
    keyless = plus_project(tmp_path, {"courier_service": {"webhook": "https://x.example.com"}})
    with pytest.raises(PolicyLoadError, match="a webhook needs secret"):
        load_policy(keyless / "policy.yaml")


def test_service_channel_must_exist_in_the_data_map(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = plus_project(
        tmp_path, {"courier_service": {"service": "courier_api", "operation": "forget"}}
    )
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    _share(project, rows[:1])
    with pytest.raises(RequestError, match="service 'courier_api' is not in the data map"):
        erase(project, [Identity("email", str(rows[0]["email"]))])


def test_the_cli_says_which_recipients_are_told(
    tmp_path: Path,
    troth_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from troth.cli import main

    project = plus_project(tmp_path, {"courier_service": {"email": COURIER_MAIL}})
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    _share(project, rows[:1])
    email = str(rows[0]["email"])
    assert main(["dsr", "erase", str(project), "--email", email, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "recipient courier_service would be told by email (1 disclosures)" in " ".join(
        out.split()
    )
    assert main(["dsr", "erase", str(project), "--email", email, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notices"][0]["recipient"] == "courier_service"


def test_queueing_twice_for_one_request_queues_once(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch, state_url: str
) -> None:
    """A request killed after its notices were queued and run again queues none twice (state
    on SQLite and PostgreSQL)."""
    from troth.sharing.notices import plan_notices, queue_notices

    monkeypatch.setenv("TROTH_DATABASE_URL", state_url)

    project = plus_project(tmp_path, {"courier_service": {"email": COURIER_MAIL}})
    data_url, rows = demo_rows(tmp_path)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    _share(project, rows[:1])
    policy = load_policy(project / "policy.yaml").policy
    key = Settings.from_env().secret_key
    who = [Identity("email", str(rows[0]["email"]))]
    planned = plan_notices(policy, None, state(), key, who, "erasure")
    assert len(queue_notices(state(), key, "req1", "erasure", planned, who)) == 1
    assert queue_notices(state(), key, "req1", "erasure", planned, who) == []
    assert len(notices(state(), "req1")) == 1
    assert len(ledger("recipient.notice_queued")) == 1
    with state().connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM worker_outbox WHERE topic = "
                                 "'recipient.notice'")).scalar() == 1  # fmt: skip
    # planned again (the resumed run): the courier is told already
    assert plan_notices(policy, None, state(), key, who, "erasure") == []

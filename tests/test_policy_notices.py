"""Notices of a published policy change (PL-14): sent through the notifier before the effective
date to the people the impact analysis names, once each, with ledger evidence (counts only)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from mail import Mailbox, mail_to
from test_publish import _next_version
from troth.audit import Ledger
from troth.cli import main
from troth.config import Settings
from troth.consent.ledger import ConsentLedger, NewEvent
from troth.datamap.demo import create_demo_db
from troth.errors import NotifyError, PolicyError
from troth.notify.base import Message
from troth.policy.change_notices import plan_notices, send_notices
from troth.policy.loader import load_policy
from troth.policy.versions import history, publish
from troth.project import load_project
from troth.store import open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    monkeypatch.setenv("TROTH_PUBLIC_URL", "https://shop.example.com/privacy")
    with mail_to(monkeypatch, "privacy@shop.example.com") as box:
        yield box


@pytest.fixture
def changed(
    troth_env: Path, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Settings, list[str]]:
    """MyDigiSoft 1.0 published, then 1.1 (effective 2999-01-01) that asks marketing_email's
    holders again and tells everyone; demo stores; the stores' e-mail addresses."""
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(store, "mydigisoft", customers=6)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", store)
    project = tmp_path / "md"
    project.mkdir()
    shutil.copy(EXAMPLES / "mydigisoft" / "datamap.yaml", project / "datamap.yaml")
    source = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    (project / "policy.yaml").write_text(source)
    settings = Settings.from_env().with_database(sqlite_url)
    engine = open_store(settings)
    publish(engine, project)
    new = _next_version(source).replace(
        '  version: "1.1"', '  version: "1.1"\n  effective: "2999-01-01"', 1
    )
    (project / "policy.yaml").write_text(new)
    policy = load_policy(EXAMPLES / "mydigisoft" / "policy.yaml").policy
    consent = ConsentLedger(engine, policy, key=settings.secret_key)
    e = sa.create_engine(store)
    with e.connect() as conn:
        addresses = sorted(
            {str(a).strip().lower() for a in conn.scalars(sa.text("SELECT email FROM customers"))}
            | {
                str(a).strip().lower()
                for a in conn.scalars(sa.text("SELECT requester_email FROM support_tickets"))
                if a
            }
        )
    e.dispose()
    holder, withdrew = addresses[0], addresses[1]
    for who in (holder, withdrew, "gone@example.com"):
        consent.record(NewEvent(who, "marketing_email", "given", channel="notification_desk"))
    consent.record(NewEvent(withdrew, "marketing_email", "withdrawn"))
    return project, settings, addresses


def test_notices_go_once_to_each_person_with_ledger_evidence(
    changed: tuple[Path, Settings, list[str]], mailbox: Mailbox
) -> None:
    project, settings, addresses = changed
    assert main(["publish", str(project), "--db", settings.database_url, "--notify"]) == 0
    holder, withdrew = addresses[0], addresses[1]
    (ask,) = mailbox.to(holder)
    assert "consent again" in ask["Subject"]
    assert "Marketing e-mail permission" in ask.get_content()
    assert "recipients.courier: a new recipient" in ask.get_content()
    assert "https://shop.example.com/privacy" in ask.get_content()
    (told,) = mailbox.to(withdrew)
    assert "changes on 2999-01-01" in told["Subject"]
    assert sorted(m["To"] for m in mailbox.messages) == addresses  # everyone, once
    engine = open_store(settings)
    (entry,) = [e for e in Ledger(engine).tail(10) if e.kind == "policy.notices_sent"]
    assert entry.data["version"] == "1.1"
    assert entry.data["ask_again"] == 1
    assert entry.data["tell"] == len(addresses) - 1
    assert entry.data["unreachable"] == 1  # gone@example.com: no store holds the address
    assert "@" not in str(entry.data)
    # again: nobody gets a second notice, and nothing new is recorded
    assert main(["notices", str(project), "--db", settings.database_url]) == 0
    assert len(mailbox.messages) == len(addresses)
    assert len([e for e in Ledger(engine).tail(10) if e.kind == "policy.notices_sent"]) == 1


class _FailsAfter:
    def __init__(self, n: int) -> None:
        self.n = n
        self.sent: list[str] = []

    def send(self, message: Message) -> None:
        if len(self.sent) >= self.n:
            raise NotifyError("smtp down")
        self.sent.append(message.to)


def test_a_failed_run_is_resumed_without_sending_twice(
    changed: tuple[Path, Settings, list[str]],
) -> None:
    project, settings, addresses = changed
    proj, engine, key = load_project(project), open_store(settings), settings.secret_key
    publish(engine, project)
    first = _FailsAfter(2)
    with pytest.raises(NotifyError, match=r"not sent .*run `troth notices` again"):
        send_notices(proj, engine, key, plan_notices(proj, engine, key), notifier=first)
    second = _FailsAfter(1000)
    run = send_notices(proj, engine, key, plan_notices(proj, engine, key), notifier=second)
    assert run.already_sent == 2
    assert sorted(first.sent + second.sent) == addresses
    failed = next(e for e in Ledger(engine).tail(10) if e.kind == "policy.notices_sent")
    assert failed.data["failed"] == len(addresses) - 2


def test_no_notice_after_the_effective_date(
    changed: tuple[Path, Settings, list[str]], mailbox: Mailbox
) -> None:
    project, settings, _ = changed
    proj, engine = load_project(project), open_store(settings)
    publish(engine, project)
    with pytest.raises(PolicyError, match="before the effective date"):
        plan_notices(proj, engine, settings.secret_key, today=date(2999, 1, 1))
    text = (project / "policy.yaml").read_text().replace("2999-01-01", "2000-01-01")
    (project / "policy.yaml").write_text(text.replace('version: "1.1"', 'version: "1.2"'))
    # --notify refuses before publishing
    assert main(["publish", str(project), "--db", settings.database_url, "--notify"]) == 2
    assert [v.version for v in history(engine, "mydigisoft")] == ["1.0", "1.1"]
    assert mailbox.messages == []

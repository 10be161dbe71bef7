"""Notifiers and notices: SMTP retry against a real server, the plug-in registry, the notices of
a request's life (denied with the right to complain, extended), and contact data purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from centre_helpers import ask, client, verify
from centre_support import EXAMPLES, Mailbox

from servers import free_port
from troth.audit import Ledger
from troth.dsr.requests import Requests, Status
from troth.errors import NotifyError, UnknownPluginError
from troth.notify import Message, notifier_for
from troth.notify.smtp import SmtpNotifier

ADA = "ada@example.com"


class Flaky(Mailbox):
    """Refuses the first message with a temporary error (451), then accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused == 0:
            self.refused += 1
            return "451 try again later"
        return await super().handle_DATA(server, session, envelope)


def test_smtp_notifier_retries_a_temporary_failure() -> None:
    box = Flaky()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notifier = SmtpNotifier("127.0.0.1", port, "privacy@shop.example.com", delay=0.01)
        notifier.send(Message(ADA, "Hello", "Body"))
    finally:
        controller.stop()
    assert box.refused == 1
    assert len(box.to(ADA)) == 1


def test_smtp_notifier_gives_up_with_one_clear_error() -> None:
    notifier = SmtpNotifier(
        "127.0.0.1", free_port(), "privacy@shop.example.com", attempts=2, delay=0.01
    )
    with pytest.raises(NotifyError, match="failed after 2 attempts") as err:
        notifier.send(Message(ADA, "Hello", "Body"))
    assert ADA not in err.value.one_line()


def test_unknown_notifier_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownPluginError) as err:
        notifier_for("email", {"TROTH_NOTIFY_EMAIL": "smpt"})
    assert "smtp" in err.value.one_line()
    assert "webhook" in err.value.one_line()


def _filed(c: Any, box: Mailbox) -> str:
    sent = ask(c, ADA, kind="erasure")
    verify(c, sent.headers["location"], box.code(ADA))
    (info,) = Requests(c.app.state.services.engine, b"").list()
    return str(info.id)


def test_denied_and_extended_notices_carry_the_reason(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    request_id = _filed(c, centre_env)
    centre.notify(
        request_id, "extended", reason="several systems to search", extra={"due": "2027-03-01"}
    )
    extended = centre_env.wait(ADA, 3).get_content()
    assert "Art. 12(3)" in extended
    assert "several systems to search" in extended
    assert "2027-03-01" in extended
    centre.requests.transition(request_id, Status.denied, reason="identity not confirmed")
    centre.notify(request_id, "denied")
    denied = centre_env.wait(ADA, 4).get_content()
    assert "identity not confirmed" in denied
    assert "right to lodge a complaint" in denied
    sent = [e for e in Ledger(centre.engine).tail(20) if e.kind == "notice.sent"]
    assert [e.data["notice"] for e in sent] == ["received", "extended", "denied"]
    assert all(ADA not in str(e.data) for e in sent)


def test_contact_data_is_purged_after_the_request_closes(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    request_id = _filed(c, centre_env)
    assert centre.purge_contacts(timedelta(days=30)) == 0  # still open
    centre.requests.transition(request_id, Status.denied, reason="duplicate")
    assert centre.purge_contacts(timedelta(days=30)) == 0  # closed, not yet past retention
    later = datetime.now(UTC) + timedelta(days=31)
    assert centre.purge_contacts(timedelta(days=30), now=later) == 1
    assert centre.filed(request_id)["contact"] is None
    with pytest.raises(Exception, match="purged"):
        centre.notify(request_id, "denied")


def test_centre_upkeep_command_purges_closed_requests_contacts(
    centre_env: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    from troth.cli import main

    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    request_id = _filed(c, centre_env)
    centre.requests.transition(request_id, Status.denied, reason="duplicate")
    assert main(["centre", "upkeep", str(EXAMPLES / "mydigisoft"), "--keep-days", "0"]) == 0
    assert "1 requests' contact data purged" in capsys.readouterr().out
    assert centre.filed(request_id)["contact"] is None
    assert any(e.kind == "centre.contacts_purged" for e in Ledger(centre.engine).tail(5))


def test_a_failed_received_notice_leaves_the_request_filed_and_says_so_in_the_ledger(
    centre_env: Mailbox,
) -> None:
    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    sent = ask(c, ADA)
    code = centre_env.code(ADA)
    centre.env.update({"TROTH_SMTP_PORT": str(free_port()), "TROTH_SMTP_ATTEMPTS": "1"})
    done = verify(c, sent.headers["location"], code)
    assert done.status_code == 303
    assert "identity_verified" in c.get(done.headers["location"]).text
    failed = [e for e in Ledger(centre.engine).tail(5) if e.kind == "notice.failed"]
    assert failed[0].data["error"] == "NotifyError"


def test_every_shipped_notice_renders_with_a_subject() -> None:
    from troth.notify.notices import NOTICES, Notices

    context = {
        "organisation": "MyDigiSoft",
        "code": "123456",
        "minutes": 15,
        "kind_label": "access",
        "received": "2026-01-01",
        "due": "2026-02-01",
        "status_url": "https://shop.example/privacy/status/t",
        "manual": True,
        "reason": "a reason",
        "contact": "privacy@shop.example",
        "download_url": "https://shop.example/privacy/download/t",
        "expires": "2026-01-08",
        "title": "Privacy Policy",
        "version": "1.1",
        "effective": "2026-03-01",
        "changes": ["recipients.courier: a new recipient"],
        "consents": ["Marketing e-mail"],
        "centre_url": "https://shop.example/privacy",
    }
    for name in NOTICES:
        subject, body = Notices(None).render(name, context)
        assert subject, name
        assert "MyDigiSoft" in subject + body, name
    with pytest.raises(NotifyError, match="unknown notice"):
        Notices(None).render("welcome", context)

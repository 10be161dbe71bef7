"""The centre keeps its own promise: a requester's contact data is forgotten when the request
closes plus the period the policy declares (``requests.contact_retention``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from centre_helpers import ask, client, verify
from centre_support import EXAMPLES, Mailbox

from troth.dsr.requests import Requests, Status
from troth.policy.duration import parse_duration
from troth.policy.model import RequestRules

ADA = "ada@example.com"


def _closed(c: Any, box: Mailbox) -> str:
    sent = ask(c, ADA, kind="erasure")
    verify(c, sent.headers["location"], box.code(ADA))
    (info,) = Requests(c.app.state.services.engine, b"").list()
    centre = c.app.state.centre.centre
    centre.requests.transition(str(info.id), Status.denied, reason="duplicate")
    return str(info.id)


def test_the_policy_declares_the_period_30_days_unless_it_says_otherwise() -> None:
    assert RequestRules().contact_retention == parse_duration("30 days")
    rules = RequestRules.model_validate({"contact_retention": "3 months"})
    assert rules.contact_retention == parse_duration("3 months")


def test_purge_follows_the_policys_period(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    centre.policy = centre.policy.model_copy(
        update={"requests": RequestRules(contact_retention=parse_duration("90 days"))}
    )
    request_id = _closed(c, centre_env)
    now = datetime.now(UTC)
    assert centre.purge_contacts(now=now + timedelta(days=31)) == 0  # 30 days would purge
    assert centre.contacts_overdue(now=now + timedelta(days=89)) == 0
    assert centre.contacts_overdue(now=now + timedelta(days=91)) == 1
    assert centre.filed(request_id)["contact"] is not None  # counting changes nothing
    assert centre.purge_contacts(now=now + timedelta(days=91)) == 1
    assert centre.filed(request_id)["contact"] is None
    assert centre.contacts_overdue(now=now + timedelta(days=91)) == 0


def test_upkeep_refuses_to_keep_contacts_longer_than_the_policy(
    centre_env: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    from troth.cli import main

    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    request_id = _closed(c, centre_env)
    project = str(EXAMPLES / "mydigisoft")
    assert main(["centre", "upkeep", project, "--keep-days", "31"]) != 0
    err = capsys.readouterr().err
    assert "--keep-days: --keep-days 31 keeps contact data longer than the policy" in err
    assert "30 days" in err
    assert "Traceback" not in err
    assert centre.filed(request_id)["contact"] is not None  # refused before any write
    assert main(["centre", "upkeep", project, "--check"]) == 0  # closed today: not overdue
    assert "0 closed requests hold contact data past 30 days" in capsys.readouterr().out
    assert main(["centre", "upkeep", project]) == 0  # the policy's 30 days: nothing due yet
    assert centre.filed(request_id)["contact"] is not None


def test_upkeep_check_fails_when_contacts_outlived_the_policy_then_upkeep_purges(
    centre_env: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlalchemy as sa

    from troth.cli import main
    from troth.dsr.models import DsrRequest

    c = client(EXAMPLES / "mydigisoft")
    centre = c.app.state.centre.centre
    request_id = _closed(c, centre_env)
    closed_long_ago = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    with centre.engine.begin() as conn:
        conn.execute(
            sa.update(DsrRequest.__table__)
            .where(DsrRequest.__table__.c.id == request_id)
            .values(updated_at=closed_long_ago)
        )
    project = str(EXAMPLES / "mydigisoft")
    assert main(["centre", "upkeep", project, "--check"]) == 1
    assert "1 closed requests hold contact data past 30 days" in capsys.readouterr().out
    assert centre.filed(request_id)["contact"] is not None
    assert main(["centre", "upkeep", project]) == 0
    assert "1 requests' contact data purged" in capsys.readouterr().out
    assert centre.filed(request_id)["contact"] is None
    assert main(["centre", "upkeep", project, "--check"]) == 0

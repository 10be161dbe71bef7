"""The queue and a request's page: filters and days left, the plan with dry-run counts per store
and table and the holds, and the team's actions through the lifecycle, audited with the user."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from console_support import Console, csrf, make_console

from troth.datamap.demo import create_demo_db
from troth.dsr.filing import file_new
from troth.dsr.identity import Identity
from troth.dsr.requests import Kind, Requests, Status
from troth.store import open_store

WHO = "customer3@example.com"


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Console:
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(store, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", store)
    return make_console(tmp_path)


def _file(console: Console, kind: Kind, who: str = WHO, *, verified: bool = True) -> str:
    engine = open_store(console.settings)
    project = console.app.state.admin.project
    info, _ = file_new(
        engine,
        console.settings.secret_key,
        project,
        kind,
        [Identity("email", who)],
        actor="test",
        verified=verified,
    )
    return info.id


def _status(console: Console, request_id: str) -> str:
    return Requests(open_store(console.settings), b"x").get(request_id).status


def _entries(console: Console, request_id: str) -> list[tuple[str, str, dict[str, object]]]:
    with open_store(console.settings).connect() as c:
        rows = c.execute(
            sa.text("SELECT kind, actor, data FROM audit_entry WHERE subject = :s ORDER BY seq"),
            {"s": f"dsr:{request_id}"},
        ).all()
    return [(k, a, json.loads(d)) for k, a, d in rows]


def test_the_queue_lists_by_due_date_with_days_left_and_filters(console: Console) -> None:
    access = _file(console, Kind.access)
    erasure = _file(console, Kind.erasure, "customer4@example.com", verified=False)
    c = console.signed_in("auditor")
    page = c.get("/admin/requests").text
    assert page.index(access[:8]) < page.index(erasure[:8])  # filed first, due first
    assert re.search(r"<td>(2[89]|3[01])</td>", page)  # a month's days left
    only = c.get("/admin/requests", params={"type": "erasure"}).text
    assert erasure[:8] in only
    assert access[:8] not in only
    verified = c.get("/admin/requests", params={"status": "identity_verified"}).text
    assert access[:8] in verified
    assert erasure[:8] not in verified
    assert "No request matches" in c.get("/admin/requests", params={"overdue": "yes"}).text
    assert (
        "No request matches" in c.get("/admin/requests", params={"due_before": "2000-01-01"}).text
    )
    bad = c.get("/admin/requests", params={"due_before": "soon"})
    assert bad.status_code == 200
    assert "left out" in bad.text


def test_a_request_shows_its_plan_counts_and_timeline_and_is_approved(console: Console) -> None:
    request_id = _file(console, Kind.access)
    c = console.signed_in("reviewer")
    plain = c.get(f"/admin/requests/{request_id}").text
    assert 'id="steps"' in plain  # the plan, always
    assert 'id="counts"' not in plain  # the dry run only when asked
    assert 'id="dry-run"' in plain
    page = c.get(f"/admin/requests/{request_id}", params={"counts": "1"}).text
    assert 'id="counts"' in page
    counts = re.findall(
        r"<td>mydigisoft_shop</td><td>([\w.]+)</td><td>access</td><td class=\"num\">(\d+)</td>",
        page,
    )
    assert counts, page
    assert any(int(n) > 0 for _, n in counts)
    assert "dsr.identity_verified" in page  # the timeline
    assert WHO not in page  # the page never shows the identity value
    token = csrf(c, f"/admin/requests/{request_id}")
    done = c.post(f"/admin/requests/{request_id}/approve", data={"csrf": token})
    assert done.status_code == 303
    assert _status(console, request_id) == Status.approved
    user = console.users.find("reviewer")
    assert user is not None
    kind, actor, data = _entries(console, request_id)[-1]
    assert (kind, actor, data["rule"]) == ("dsr.approved", f"user:{user.id}", "reviewer")
    # the outbox row that makes the workers run it
    with open_store(console.settings).connect() as conn:
        payloads = [
            json.loads(p) for (p,) in conn.exec_driver_sql("SELECT payload FROM worker_outbox")
        ]
    assert {"request_id": request_id, "status": "approved"}.items() <= payloads[-1].items()
    # approving twice is refused with the lifecycle's message, not a 500
    again = c.post(f"/admin/requests/{request_id}/approve", data={"csrf": token})
    assert again.status_code == 409
    assert "cannot go from approved to approved" in again.text


def test_an_erasure_shows_the_holds_and_the_dry_run_changes_nothing(console: Console) -> None:
    request_id = _file(console, Kind.erasure)
    c = console.signed_in("privacy_officer")
    page = c.get(f"/admin/requests/{request_id}", params={"counts": "1"}).text
    assert 'id="counts"' in page
    assert 'id="holds"' in page
    assert _status(console, request_id) == Status.identity_verified
    user = console.users.find("privacy-officer")
    assert user is not None
    entries = _entries(console, request_id)
    # the dry run changed nothing; the ledger says who looked
    assert [k for k, _, _ in entries] == ["dsr.received", "dsr.identity_verified", "dsr.dry_run"]
    assert entries[-1][1] == f"user:{user.id}"


def test_the_auditor_sees_the_timeline_but_no_counts_and_no_actions(console: Console) -> None:
    request_id = _file(console, Kind.access)
    auditor = console.signed_in("auditor")
    page = auditor.get(f"/admin/requests/{request_id}", params={"counts": "1"}).text
    assert "dsr.identity_verified" in page
    assert 'id="counts"' not in page
    assert 'id="approve"' not in page
    assert 'id="dry-run"' not in page


def test_deny_with_a_reason_template_and_a_note(console: Console) -> None:
    request_id = _file(console, Kind.access)
    c = console.signed_in("reviewer")
    token = csrf(c, f"/admin/requests/{request_id}")
    empty = c.post(
        f"/admin/requests/{request_id}/deny",
        data={"csrf": token, "template": "other", "note": " "},
    )
    assert empty.status_code == 409
    assert "needs a reason" in empty.text
    done = c.post(
        f"/admin/requests/{request_id}/deny",
        data={"csrf": token, "template": "repeat", "note": "See our answer of 3 March."},
    )
    assert done.status_code == 303
    info = Requests(open_store(console.settings), b"x").get(request_id)
    assert info.status == Status.denied
    assert info.reason is not None
    assert info.reason.startswith("We answered the same request recently")
    assert info.reason.endswith("See our answer of 3 March.")
    assert 'id="reason"' in c.get(f"/admin/requests/{request_id}").text


def test_verify_manually_extend_and_rerun(console: Console) -> None:
    request_id = _file(console, Kind.access, verified=False)
    c = console.signed_in("reviewer")
    path = f"/admin/requests/{request_id}"
    token = csrf(c, path)
    assert c.post(f"{path}/verify", data={"csrf": token}).status_code == 303
    assert _status(console, request_id) == Status.identity_verified
    assert _entries(console, request_id)[-1][2]["method"] == "team"
    before = Requests(open_store(console.settings), b"x").get(request_id).due_at
    assert c.post(f"{path}/extend", data={"csrf": token, "reason": "complex"}).status_code == 303
    after = Requests(open_store(console.settings), b"x").get(request_id)
    assert after.due_at > before
    twice = c.post(f"{path}/extend", data={"csrf": token, "reason": "again"})
    assert twice.status_code == 409
    assert "extended already" in twice.text
    # a request that failed runs again when the team asks
    requests = Requests(open_store(console.settings), console.settings.secret_key)
    requests.advance(request_id, [(Status.approved, None), (Status.running, None)])
    requests.transition(request_id, Status.failed, reason="store down", retryable=False)
    assert 'id="retry"' in c.get(path).text
    assert c.post(f"{path}/retry", data={"csrf": token}).status_code == 303
    assert _entries(console, request_id)[-1][0] == "dsr.retry"


def test_pause_while_waiting_for_the_person_and_resume(console: Console) -> None:
    request_id = _file(console, Kind.erasure, verified=False)
    c = console.signed_in("reviewer")
    path = f"/admin/requests/{request_id}"
    token = csrf(c, path)
    blank = c.post(f"{path}/pause", data={"csrf": token, "reason": "  "})
    assert blank.status_code == 409
    assert "a reason is needed" in blank.text
    done = c.post(f"{path}/pause", data={"csrf": token, "reason": "waiting for a copy of the ID"})
    assert done.status_code == 303
    assert _status(console, request_id) == Status.paused
    assert 'id="resume"' in c.get(path).text
    assert c.post(f"{path}/resume", data={"csrf": token}).status_code == 303
    assert _status(console, request_id) == Status.received


def test_a_crafted_link_cannot_put_words_on_the_page(console: Console) -> None:
    request_id = _file(console, Kind.access)
    c = console.signed_in("auditor")
    page = c.get(f"/admin/requests/{request_id}", params={"done": "call 555-0100 now"}).text
    assert "555-0100" not in page
    assert "Done: approved." in c.get(f"/admin/requests/{request_id}?done=approved").text

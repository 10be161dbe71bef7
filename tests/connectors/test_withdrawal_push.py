"""A withdrawn marketing consent leaves troth: pushed to the mailing service's unsubscribe operation
(declared in examples/services/hubspot.yaml), against the local HubSpot server, retried on 429 and
503, with evidence; from the consent ledger, the consent API and one-click unsubscribe."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from troth.config import Settings
from troth.consent import ConsentLedger
from troth.consent.events import NewEvent
from troth.consent.push import WithdrawalPushes
from troth.consent.subjects import SubjectRef, subject_ref
from troth.project import load_project
from troth.sharing.notices import notices
from troth.store import open_store
from troth.web import create_app
from troth.worker.embedded import drain
from troth.worker.jobs import Context

from .fake_services import SERVERS, TOKENS, Store
from .fakeapi import FakeApi

ROOT = Path(__file__).resolve().parents[2]
MD = ROOT / "examples" / "mydigisoft"
ADA = "ada.lovelace@example.com"


@pytest.fixture
def hubspot(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Store, FakeApi]]:
    store = Store()
    with SERVERS["hubspot"](store) as api:
        folder = tmp_path / "md"
        folder.mkdir()
        shutil.copy(MD / "policy.yaml", folder / "policy.yaml")
        svc = yaml.safe_load((ROOT / "examples" / "services" / "hubspot.yaml").read_text())
        svc["backoff"] = 0.01
        datamap = yaml.safe_load((MD / "datamap.yaml").read_text())
        datamap["services"] = [svc]
        (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
        monkeypatch.setenv("TROTH_CONN_HUBSPOT", api.url)
        monkeypatch.setenv("HUBSPOT_TOKEN", TOKENS["hubspot"])
        yield folder, store, api


def _ledger(project: Path) -> ConsentLedger:
    loaded = load_project(project)
    assert loaded.datamap is not None
    key = Settings.from_env().secret_key
    pushes = WithdrawalPushes(loaded.datamap.datamap, key)
    return ConsentLedger(open_store(Settings.from_env()), loaded.policy.policy, key=key,
                         pushes=pushes)  # fmt: skip


def _entries(kind: str) -> list[dict[str, Any]]:
    with open_store(Settings.from_env()).connect() as c:
        rows = c.execute(sa.text("SELECT data FROM audit_entry WHERE kind = :k ORDER BY seq"),
                         {"k": kind}).scalars()  # fmt: skip
        return [json.loads(r) for r in rows]


def test_withdrawal_is_pushed_to_the_mailing_service_with_retry(
    hubspot: tuple[Path, Store, FakeApi],
) -> None:
    project, store, api = hubspot
    ledger = _ledger(project)
    ledger.record(NewEvent(ADA, "marketing_email", "given"))
    assert notices(ledger.engine) == []  # only a withdrawal leaves
    event = ledger.record(NewEvent(ADA.upper(), "marketing_email", "withdrawn"))
    [queued] = notices(ledger.engine)
    assert (queued.kind, queued.recipient, queued.status) == (
        "consent_withdrawn",
        "hubspot",
        "pending",
    )
    assert queued.ref == f"consent:{event.event_uid}"
    with ledger.engine.connect() as c:  # the address is kept encrypted until it is sent
        sealed = c.execute(sa.text("SELECT sealed FROM outbound_notice")).scalar()
    assert sealed
    assert ADA not in sealed

    api.fail = [(429, {"Retry-After": "0"}), (503, {})]
    ctx = Context(project, Settings.from_env())
    while drain(ctx):
        pass
    assert store.unsubscribed == [(ADA, "7000001")]
    assert [s for _m, p, s in api.log if "unsubscribe" in p] == [429, 503, 200]
    [sent] = notices(ledger.engine)
    assert sent.status == "sent"
    [entry] = _entries("recipient.notified")
    assert entry["outcome"] == "sent"
    assert entry["channel"] == "service"
    assert entry["request_id"] == queued.ref
    [pushed] = _entries("consent.push_queued")
    assert pushed["service"] == "hubspot"
    assert pushed["operation"] == "unsubscribe"
    for e in (entry, pushed):
        assert ADA not in json.dumps(e)
    with ledger.engine.connect() as c:
        assert c.execute(sa.text("SELECT sealed FROM outbound_notice")).scalar() is None

    ledger.record(NewEvent(ADA, "marketing_email", "withdrawn", event_time=event.event_time))
    assert len(notices(ledger.engine)) == 1  # the same event replayed: stored once, pushed once


def test_withdrawal_by_ref_only_is_kept_as_failed_with_the_reason(
    hubspot: tuple[Path, Store, FakeApi],
) -> None:
    project, store, _api = hubspot
    ledger = _ledger(project)
    ref = SubjectRef(subject_ref(ledger.key, ADA))
    ledger.record(NewEvent(ref, "marketing_email", "withdrawn"))
    [failed] = notices(ledger.engine)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "no email to send" in failed.error
    assert "unsubscribe them in hubspot by hand" in failed.error
    [pushed] = _entries("consent.push_queued")
    assert pushed["status"] == "failed"
    assert store.unsubscribed == []


def test_one_click_unsubscribe_and_the_consent_api_push_the_withdrawal(
    hubspot: tuple[Path, Store, FakeApi],
) -> None:
    from troth.centre.unsubscribe import unsubscribe_url

    project, store, _api = hubspot
    settings = Settings.from_env()
    client = TestClient(create_app(settings, project), follow_redirects=False)
    url = unsubscribe_url(settings.secret_key, "http://testserver", ADA, "marketing_email")
    assert ADA not in url  # the token carries the address encrypted
    page = client.post(url.removeprefix("http://testserver"),
                       data={"List-Unsubscribe": "One-Click"})  # fmt: skip
    assert page.status_code == 200
    [queued] = notices(open_store(settings))
    assert queued.status == "pending"
    ctx = Context(project, settings)
    while drain(ctx):
        pass
    assert store.unsubscribed == [(ADA, "7000001")]


def test_withdrawal_in_the_preference_centre_is_pushed(
    hubspot: tuple[Path, Store, FakeApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mail import mail_to

    project, store, _api = hubspot
    with mail_to(monkeypatch, "privacy@shop.example.com") as box:
        c = TestClient(create_app(Settings.from_env(), project), follow_redirects=False)
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/privacy/preferences").text)
        assert token is not None
        login = c.post("/privacy/preferences/sign-in",
                       data={"csrf": token.group(1), "identity": ADA})  # fmt: skip
        code = re.search(r"\b(\d{6})\b", box.bodies[-1])
        assert code is not None
        location = login.headers["location"]
        form = re.search(r'name="csrf" value="([^"]+)"', c.get(location).text)
        assert form is not None
        assert (
            c.post(location, data={"csrf": form.group(1), "code": code.group(1)}).status_code == 303
        )
        assert ADA not in c.cookies.get("troth_centre", "")  # the session holds it encrypted
        form = re.search(r'name="csrf" value="([^"]+)"', c.get("/privacy/preferences").text)
        assert form is not None
        done = c.post("/privacy/preferences", data={"csrf": form.group(1),
                      "consent": "marketing_email", "action": "withdraw"})  # fmt: skip
        assert done.status_code == 303
    settings = Settings.from_env()
    [queued] = notices(open_store(settings))
    assert queued.status == "pending"
    ctx = Context(project, settings)
    while drain(ctx):
        pass
    assert store.unsubscribed == [(ADA, "7000001")]

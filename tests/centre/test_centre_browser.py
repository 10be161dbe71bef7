"""The whole journey in a real headless Chromium against a real `troth serve` process, with a
real SMTP server catching the mail; axe-core checks every page (WCAG 2.x A/AA) and each page's
screenshot goes to ``test-artifacts/centre/``."""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from centre_support import EXAMPLES, ROOT, Mailbox

from servers import axe_check, by_id, start_serve, submit
from troth.audit import Ledger
from troth.config import Settings
from troth.consent import ConsentLedger
from troth.consent.events import NewEvent
from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access, erase, rectify
from troth.dsr.requests import Requests
from troth.project import load_project
from troth.store import open_store
from troth.web import create_app

PROJECT = EXAMPLES / "mydigisoft"
ARTIFACTS = ROOT / "test-artifacts" / "centre"


@pytest.fixture
def served(
    centre_env: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Mailbox, str]]:
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(store, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", store)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("TROTH_DATABASE_URL", state)
    proc, base = start_serve(PROJECT, state, os.environ)
    try:
        yield base, centre_env, store
    finally:
        proc.terminate()
        proc.wait(10)


def check_page(driver: Any, axe_js: str, name: str) -> None:
    """No axe-core violation; a screenshot into ``test-artifacts/centre/``."""
    axe_check(driver, axe_js, ARTIFACTS, name)


def ask_and_verify(
    driver: Any, base: str, box: Mailbox, who: str, kind: str, mails: int, axe_js: str | None
) -> str:
    """Fill the request form, read the code from the mail, enter it; the status page URL."""
    driver.get(base + "/privacy/request")
    by_id(driver, f"kind-{kind}").click()
    by_id(driver, "identity").send_keys(who)
    return_fields = kind == "rectification"
    if return_fields:
        from selenium.webdriver.support.ui import Select

        Select(by_id(driver, "field_1")).select_by_value("shop.customers.first_name")
        by_id(driver, "value_1").send_keys("Adaline")
    submit(driver)
    assert "/privacy/verify/" in driver.current_url
    if axe_js:
        check_page(driver, axe_js, "verify")
    by_id(driver, "code").send_keys(box.code(who, mails))
    submit(driver)
    assert "/privacy/status/" in driver.current_url
    return str(driver.current_url)


def status_of(driver: Any, url: str) -> str:
    driver.get(url)
    return str(by_id(driver, "status").get_attribute("data-status"))


def test_access_journey_in_chromium(
    served: tuple[str, Mailbox, str], driver: Any, axe_js: str
) -> None:
    base, box, _store = served
    who = "customer3@example.com"
    driver.get(base + "/privacy")
    assert "MyDigiSoft" in driver.title
    check_page(driver, axe_js, "home")
    driver.get(base + "/privacy/policy")
    check_page(driver, axe_js, "policy")
    driver.get(base + "/privacy/request")
    check_page(driver, axe_js, "request")
    status_url = ask_and_verify(driver, base, box, who, "access", 1, axe_js)
    assert status_of(driver, status_url) == "identity_verified"
    check_page(driver, axe_js, "status")
    # the team runs the request (the policy names no approval rule: a reviewer's job); the
    # server's jobs then publish the copy and send the link
    settings = Settings.from_env()
    result = access(PROJECT, [Identity("email", who)], settings=settings, env=os.environ)
    assert result.ok
    assert result.request
    found = re.search(r"http\S+/privacy/download/\S+", box.wait(who, 3).get_content())
    assert found
    link = found.group(0)
    assert link.startswith(base)
    assert status_of(driver, status_url) == "completed"
    driver.get(link)
    check_page(driver, axe_js, "download")
    submit(driver)
    by_id(driver, "code").send_keys(box.code(who, 4))
    by_id(driver, "code").submit()  # a download: the page stays
    zip_path = driver.downloads / "your-data.zip"
    end = time.monotonic() + 20
    while not zip_path.exists() and time.monotonic() < end:
        time.sleep(0.1)
    with zipfile.ZipFile(io.BytesIO(zip_path.read_bytes())) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["request_id"] == result.request.id
        rows = json.loads(z.read("json/shop.customers.json"))
        assert [r["email"] for r in rows] == [who]
    driver.get(link)  # used: gone
    assert "no longer works" in driver.page_source
    check_page(driver, axe_js, "gone")


def test_erasure_and_rectification_journeys_in_chromium(
    served: tuple[str, Mailbox, str], driver: Any
) -> None:
    base, box, store = served
    settings = Settings.from_env()
    requests = Requests(open_store(settings), settings.secret_key)
    web = create_app(settings, PROJECT).state.centre
    fixer = "customer4@example.com"
    status_url = ask_and_verify(driver, base, box, fixer, "rectification", 1, None)
    (info,) = requests.list()
    changes = web.centre.details(info.id)["changes"]
    assert changes == {"shop.customers.first_name": "Adaline"}
    assert rectify(PROJECT, [Identity("email", fixer)], changes, env=os.environ).ok
    assert status_of(driver, status_url) == "completed"
    leaver = "customer5@example.com"
    status_url = ask_and_verify(driver, base, box, leaver, "erasure", 1, None)
    assert erase(PROJECT, [Identity("email", leaver)], env=os.environ).ok
    assert status_of(driver, status_url) == "completed"
    with sa.create_engine(store).connect() as conn:
        names = dict(conn.execute(sa.text("SELECT email, first_name FROM customers")).all())
    assert names[fixer] == "Adaline"
    assert leaver not in names  # erased (masked or deleted by the map)
    # the audit ledger: each request verified by its code, then completed
    entries = Ledger(open_store(settings)).tail(200)
    for request in requests.list():
        mine = [e for e in entries if e.data.get("request_id") == request.id]
        kinds = [e.kind for e in mine]
        assert "dsr.identity_verified" in kinds, kinds
        assert "dsr.completed" in kinds, kinds
        verified = next(e for e in mine if e.kind == "dsr.identity_verified")
        assert verified.data["method"] == "one_time_code"
        assert all(fixer not in str(e.data) and leaver not in str(e.data) for e in mine)


def test_withdrawal_in_the_preference_centre_and_by_unsubscribe_in_chromium(
    served: tuple[str, Mailbox, str], driver: Any, axe_js: str
) -> None:
    from troth.centre.unsubscribe import unsubscribe_url

    base, box, _store = served
    settings = Settings.from_env()
    policy = load_project(PROJECT).policy.policy
    ledger = ConsentLedger(open_store(settings), policy, key=settings.secret_key)
    for who in ("customer6@example.com", "customer7@example.com"):
        ledger.record(NewEvent(who, "marketing_email", "given", channel="notification_desk"))
    who = "customer6@example.com"
    driver.get(base + "/privacy/preferences")
    check_page(driver, axe_js, "preferences-sign-in")
    by_id(driver, "identity").send_keys(who)
    submit(driver)
    by_id(driver, "code").send_keys(box.code(who))
    submit(driver)
    check_page(driver, axe_js, "preferences")
    submit(driver, "#withdraw-marketing_email")
    assert "It takes effect at once" in driver.page_source
    assert ledger.state(who)["marketing_email"].kind.value == "withdrawn"
    check_page(driver, axe_js, "preferences-saved")
    other = "customer7@example.com"
    driver.delete_all_cookies()
    driver.get(unsubscribe_url(settings.secret_key, base, other, "marketing_email"))
    check_page(driver, axe_js, "unsubscribe")
    submit(driver)
    assert "You are unsubscribed" in driver.page_source
    assert ledger.state(other)["marketing_email"].kind.value == "withdrawn"
    check_page(driver, axe_js, "unsubscribed")
    withdrawals = [e for e in ledger.audit.tail(20) if e.kind == "consent.withdrawn"]
    assert [e.actor for e in withdrawals] == ["privacy-centre", "privacy-centre"]
    assert {e.subject for e in withdrawals} == {
        ledger.subject_ref("customer6@example.com"),
        ledger.subject_ref(other),
    }


def test_error_pages_and_the_full_policy_have_no_axe_violations(
    served: tuple[str, Mailbox, str], driver: Any, axe_js: str
) -> None:
    base, box, _store = served
    driver.get(base + "/privacy/policy.html")
    check_page(driver, axe_js, "policy-full")
    driver.get(base + "/privacy/status/no-such-token")
    assert "Not found" in driver.title
    check_page(driver, axe_js, "not-found")
    # a wrong code
    who = "customer2@example.com"
    driver.get(base + "/privacy/request")
    by_id(driver, "identity").send_keys(who)
    submit(driver)
    code = box.code(who)
    by_id(driver, "code").send_keys(f"{(int(code) + 1) % 10**6:06d}")
    submit(driver)
    assert "4 tries left" in driver.page_source
    check_page(driver, axe_js, "wrong-code")
    # a form whose CSRF cookie is gone (another browser's session, an expired form)
    driver.get(base + "/privacy/request")
    driver.delete_all_cookies()
    assert driver.get_cookie("troth_csrf") is None
    by_id(driver, "identity").send_keys(who)
    submit(driver)
    assert "This form has expired" in driver.page_source
    check_page(driver, axe_js, "refused")
    # the request form with an error
    driver.get(base + "/privacy/request")
    by_id(driver, "kind-objection").click()
    by_id(driver, "identity").send_keys(who)
    submit(driver)
    assert "choose the purpose" in driver.page_source
    check_page(driver, axe_js, "request-error")

"""The privacy team's side of the journey in a real headless Chromium against a real `troth
serve` (its embedded jobs are the workers) and a real SMTP server: a request filed through the
privacy centre is found in the console, its plan and counts seen, approved, and completed by the
jobs; another is denied with a reason, and the person's mail carries it. axe-core checks each
console page; screenshots go to ``test-artifacts/console/``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from centre_helpers import csrf
from centre_support import EXAMPLES, ROOT, Mailbox
from console_support import PASSWORD

from servers import axe_check, by_id, start_serve, submit, troth_command

PROJECT = EXAMPLES / "mydigisoft"
ARTIFACTS = ROOT / "test-artifacts" / "console"


@pytest.fixture
def served(mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`troth serve` with the demo shop, and a privacy officer ``dpo`` added with the CLI."""
    from troth.datamap.demo import create_demo_db

    store = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_db(store, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", store)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("TROTH_DATABASE_URL", state)
    added = subprocess.run(
        [troth_command(), "user", "add", "dpo", "--role", "privacy_officer", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    proc, base = start_serve(PROJECT, state, os.environ)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def file_at_centre(base: str, box: Mailbox, who: str) -> str:
    """An access request filed and verified at /privacy; its id (from the state DB)."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as c:
        data = {"csrf": csrf(c), "kind": "access", "identity": who, "identity_type": "email"}
        sent = c.post("/privacy/request", data=data)
        assert sent.status_code == 303, sent.text
        location = sent.headers["location"]
        done = c.post(location, data={"csrf": csrf(c, location), "code": box.code(who)})
        assert done.status_code == 303, done.text
    engine = sa.create_engine(os.environ["TROTH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT request_id FROM centre_request ORDER BY rowid DESC LIMIT 1"
            ).all()
    finally:
        engine.dispose()
    return str(rows[0][0])


def shot(drv: Any, axe: str, name: str) -> None:
    axe_check(drv, axe, ARTIFACTS, name)


def sign_in(drv: Any, base: str, axe: str | None = None) -> None:
    """Signed in as ``dpo`` from the login page the queue sends to; with *axe*, the login page and
    then the queue checked."""
    drv.get(base + "/admin/requests")
    assert drv.current_url.endswith("/admin/login")
    if axe:
        shot(drv, axe, "login")
    by_id(drv, "name").send_keys("dpo")
    by_id(drv, "password").send_keys(PASSWORD)
    submit(drv)
    assert drv.current_url.endswith("/admin/requests")
    if axe:
        shot(drv, axe, "queue")


def open_request(drv: Any, base: str, request_id: str) -> None:
    """From the queue, the request's link (the queue shows the first 8 characters)."""
    from selenium.webdriver.common.by import By

    drv.get(base + "/admin/requests")
    links = drv.find_elements(By.CSS_SELECTOR, "a.request-link")
    link = next(a for a in links if a.text == request_id[:8])
    link.click()
    assert drv.current_url.endswith(f"/admin/requests/{request_id}")


def filed_and_opened(drv: Any, base: str, box: Mailbox, who: str, axe: str | None = None) -> str:
    """*who*'s access request filed at the centre, then the console signed in to (checked with
    *axe* when given) and the request opened from the queue; its id."""
    request_id = file_at_centre(base, box, who)
    sign_in(drv, base, axe)
    open_request(drv, base, request_id)
    return request_id


def wait_status(drv: Any, url: str, status: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        drv.get(url)
        if by_id(drv, "status").text == status:
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} did not reach {status} ({by_id(drv, 'status').text})")


def test_approve_a_centre_request_in_the_console_and_see_it_complete(
    served: str, mailbox: Mailbox, driver: Any, axe_js: str
) -> None:
    from selenium.webdriver.common.by import By

    base = served
    who = "customer3@example.com"
    request_id = filed_and_opened(driver, base, mailbox, who, axe_js)
    assert by_id(driver, "status").text == "identity_verified"
    submit(driver, "#dry-run")  # the plan is shown; the counts when asked
    rows = driver.find_elements(By.CSS_SELECTOR, "#counts tbody tr")
    counts = {r.find_elements(By.TAG_NAME, "td")[1].text: r for r in rows}
    assert "shop.customers" in counts
    assert int(counts["shop.customers"].find_elements(By.TAG_NAME, "td")[3].text) == 1
    assert who not in driver.page_source
    shot(driver, axe_js, "request")
    submit(driver, "#approve")
    assert by_id(driver, "done").text == "Done: approved."
    wait_status(driver, f"{base}/admin/requests/{request_id}", "completed")
    timeline = by_id(driver, "timeline").text
    assert "dsr.approved by user:" in timeline
    assert "dsr.completed by worker" in timeline
    mailbox.wait(who, 3, timeout=60)  # code, received, then the link to the copy
    for page in ("consent", "retention", "checks", "webhooks", "keys", "audit"):
        driver.get(f"{base}/admin/{page}")
        shot(driver, axe_js, page)
    submit(driver, "#verify-ledger")
    assert by_id(driver, "verify-result").text.startswith("Verified: ok:")


def test_deny_in_the_console_and_the_person_is_told_why(
    served: str, mailbox: Mailbox, driver: Any, axe_js: str
) -> None:
    base = served
    who = "customer4@example.com"
    filed_and_opened(driver, base, mailbox, who)
    by_id(driver, "t-identity").click()
    by_id(driver, "note").send_keys("Please write to us from the address on your account.")
    submit(driver, "#deny")
    assert by_id(driver, "status").text == "denied"
    shot(driver, axe_js, "denied")
    body = mailbox.wait(who, 3, timeout=60).get_content()
    assert "We could not verify your identity with the details given." in body
    assert "Please write to us from the address on your account." in body

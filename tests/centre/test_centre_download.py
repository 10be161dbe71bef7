"""The access copy: encrypted at rest, a single-use link that expires, a fresh code first."""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from centre_helpers import ask, client, csrf, verify
from centre_support import EXAMPLES, Mailbox
from fastapi.testclient import TestClient

from troth.audit import Ledger
from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access

PROJECT = EXAMPLES / "mydigisoft"


@pytest.fixture
def shop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, centre_env: Mailbox) -> Mailbox:
    create_demo_db(sqlite_url, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", sqlite_url)
    return centre_env


def _completed_access(c: TestClient, box: Mailbox, who: str) -> tuple[str, Path]:
    """Ask for access in the centre, verify, run it as the team would; the request and zip."""
    sent = ask(c, who)
    verify(c, sent.headers["location"], box.code(who))
    result = access(PROJECT, [Identity("email", who)], settings=Settings.from_env(), env=os.environ)
    assert result.ok
    assert result.request
    assert result.export
    return result.request.id, result.export


def _link(box: Mailbox, who: str, count: int) -> str:
    found = re.search(
        r"http://testserver(/privacy/download/\S+)", box.wait(who, count).get_content()
    )
    assert found
    return found.group(1)


def test_access_copy_is_downloaded_once_after_a_fresh_code(shop: Mailbox) -> None:
    c = client(PROJECT)
    web = c.app.state.centre
    who = "customer7@example.com"
    request_id, export = _completed_access(c, shop, who)
    web.downloads.publish(request_id, export, base_url="http://testserver")
    assert not export.exists()  # no plain copy left
    (stored,) = list(web.downloads.folder.iterdir())
    assert not stored.read_bytes().startswith(b"PK")  # encrypted at rest
    link = _link(shop, who, 3)  # code, received, completed
    assert c.get(link).status_code == 200
    asked = c.post(link, data={"csrf": csrf(c, link)})
    code_page = asked.headers["location"]
    code = shop.code(who, 4)
    wrong = verify(c, code_page, f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.status_code == 400
    got = verify(c, code_page, code)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(got.content)).namelist()
    assert "summary.html" in names
    assert not stored.exists()  # deleted after the download
    assert c.get(link).status_code == 410  # single use
    assert verify(c, code_page, code).status_code == 410
    kinds = [e.kind for e in Ledger(web.centre.engine).tail(30)]
    assert "centre.export_stored" in kinds
    assert "centre.export_downloaded" in kinds


def test_access_copy_is_deleted_when_its_link_expires(shop: Mailbox) -> None:
    c = client(PROJECT)
    web = c.app.state.centre
    who = "customer8@example.com"
    request_id, export = _completed_access(c, shop, who)
    web.downloads.publish(request_id, export, base_url="http://testserver")
    link = _link(shop, who, 3)
    assert web.downloads.expire() == 0  # not yet
    later = datetime.now(UTC) + timedelta(days=7, minutes=1)
    assert web.downloads.expire(now=later) == 1
    assert list(web.downloads.folder.iterdir()) == []
    assert c.get(link).status_code == 410
    entries = [e for e in Ledger(web.centre.engine).tail(30) if e.kind == "centre.export_expired"]
    assert entries[0].data == {"request_id": request_id}

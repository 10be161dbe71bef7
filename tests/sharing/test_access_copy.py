"""The access copy lists the recipients the person's data was actually disclosed to (Art.
15(1)(c)), from the disclosure register."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access
from troth.sharing import Gateway

from .conftest import PLUS, approved


def _copy(email: str) -> tuple[dict[str, Any], str]:
    result = access(PLUS, [Identity("email", email)])
    assert result.export is not None
    with zipfile.ZipFile(result.export) as zf:
        return json.loads(zf.read("manifest.json")), zf.read("summary.html").decode()


def test_access_copy_lists_actual_recipients(
    troth_env: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    create_demo_db(data_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(sa.text("SELECT * FROM crm_contacts LIMIT 2"))]
    engine.dispose()
    shared, kept = rows
    gw = Gateway.from_project(PLUS, Settings.from_env())
    gw.disclose("courier_service", "courier_delivery", shared, table="crm_contacts")
    gw.disclose("courier_service", "courier_delivery", shared, table="crm_contacts")
    legal = approved(gw, categories=("user.name",))
    gw.disclose("legal_authorities", "legal_disclosure", shared, legal_request=legal)

    manifest, summary = _copy(shared["email"].upper())  # e-mail compared case-insensitively
    to = {d["recipient"]: d for d in manifest["disclosed_to"]}
    assert set(to) == {"courier_service", "legal_authorities"}
    assert to["courier_service"]["count"] == 2
    assert "user.contact.address.street" in to["courier_service"]["categories"]
    assert to["legal_authorities"]["legal_request"] is True
    assert "Disclosed to Courier service" in summary
    assert "Disclosed to Law enforcement agencies or regulatory bodies" in summary
    assert "On a legal request." in summary

    manifest, summary = _copy(kept["email"])
    assert manifest["disclosed_to"] == []
    assert "Our register records no disclosure of your data to anyone." in summary
    assert "Disclosed to" not in summary

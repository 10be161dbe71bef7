"""The shipped SaaS configs (HubSpot CRM, Shopify, Freshdesk), each against a local server written
from its API documentation: every page found, only the person's items erased, a second run sends
nothing, 429 and 503 retried, refused credentials reported; OAuth2 client credentials."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access, erase
from troth.errors import ConnectorError

from .fake_services import OAUTH_CLIENT, SERVERS, TOKENS, Store
from .fakeapi import FakeApi

ROOT = Path(__file__).resolve().parents[2]
PLUS = ROOT / "examples" / "plus"
SECRETS = {"hubspot": "HUBSPOT_TOKEN", "shopify": "SHOPIFY_ACCESS_TOKEN",
           "freshdesk": "FRESHDESK_API_KEY"}  # fmt: skip


def config(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (ROOT / "examples" / "services" / f"{name}.yaml").read_text()
    )
    return data


@pytest.fixture(params=sorted(SERVERS))
def service(request: pytest.FixtureRequest) -> Iterator[tuple[str, Store, FakeApi]]:
    store = Store()
    with SERVERS[request.param](store) as api:
        yield request.param, store, api


def _project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, svc: dict[str, Any], url: str
) -> tuple[Path, str, str]:
    folder = tmp_path / "plus"
    folder.mkdir(exist_ok=True)
    shutil.copy(PLUS / "policy.yaml", folder / "policy.yaml")
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["services"] = [svc]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    if not (tmp_path / "plus.db").exists():
        create_demo_db(data_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    monkeypatch.setenv(f"TROTH_CONN_{svc['connection'].upper()}", url)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        ada, bob = [
            r[0] for r in c.exec_driver_sql("SELECT email FROM accounts ORDER BY id LIMIT 2")
        ]
    engine.dispose()
    return folder, ada, bob


@pytest.fixture
def project(
    tmp_path: Path,
    troth_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    service: tuple[str, Store, FakeApi],
) -> tuple[Path, str, str]:
    name, store, api = service
    svc = config(name)
    svc["backoff"] = 0.01
    svc["resources"][0]["pagination"]["page_size"] = 2
    monkeypatch.setenv(SECRETS[name], TOKENS[name])
    folder, ada, bob = _project(tmp_path, monkeypatch, svc, api.url)
    for n in range(3):
        store.add(100 + n, ada, "Ada L")
    store.add(200, bob, "Bob B")
    return folder, ada, bob


def _sent(api: FakeApi, method: str | None = None) -> int:
    return len([e for e in api.log if method is None or e[0] == method])


def test_access_finds_every_page(
    project: tuple[Path, str, str], service: tuple[str, Store, FakeApi]
) -> None:
    folder, ada, _bob = project
    name, _store, api = service
    result = access(folder, [Identity("email", ada)])
    assert result.ok, result.error
    table = next(t for t in result.tables if t["table"].startswith(name + "."))
    assert table["rows"] == 3
    assert _sent(api) == 2  # two pages of two


def test_erasure_erases_only_the_persons_items_once(
    project: tuple[Path, str, str], service: tuple[str, Store, FakeApi]
) -> None:
    folder, ada, _bob = project
    name, store, api = service
    others = json.dumps([i for i in store.items if i["email"] != ada], sort_keys=True)
    assert erase(folder, [Identity("email", ada)], dry_run=True).ok
    assert len(store.of(ada)) == 3  # the dry run erased nothing
    result = erase(folder, [Identity("email", ada)])
    assert result.ok, result.error
    assert store.of(ada) == []
    assert json.dumps(store.items, sort_keys=True) == others
    sent = _sent(api)
    again = erase(folder, [Identity("email", ada)])
    assert again.ok
    table = next(t for t in again.tables if t["table"].startswith(name + "."))
    assert table["rows"] == 0
    assert _sent(api) - sent == 1  # one find, nothing to erase


def test_429_and_503_are_retried(
    project: tuple[Path, str, str], service: tuple[str, Store, FakeApi]
) -> None:
    folder, ada, _bob = project
    _name, store, api = service
    api.fail = [(429, {}), (503, {})]
    result = erase(folder, [Identity("email", ada)])
    assert result.ok, result.error
    assert [e[2] for e in api.log[:2]] == [429, 503]
    assert store.of(ada) == []


def test_refused_credentials(
    project: tuple[Path, str, str],
    service: tuple[str, Store, FakeApi],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, ada, _bob = project
    name, _store, _api = service
    monkeypatch.setenv(SECRETS[name], "wrong-secret-value")
    result = access(folder, [Identity("email", ada)])
    assert isinstance(result.error, ConnectorError)
    assert "401" in result.error.one_line()
    assert "wrong-secret-value" not in result.error.one_line()


def test_oauth2_client_credentials(
    tmp_path: Path, troth_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store()
    with SERVERS["hubspot"](store) as api:
        svc = config("hubspot")
        svc["auth"] = {"type": "oauth2_client_credentials", "token_url": "/oauth/v1/token",
                       "client_id": "HS_CLIENT_ID", "client_secret": "HS_CLIENT_SECRET"}  # fmt: skip
        monkeypatch.setenv("HS_CLIENT_ID", OAUTH_CLIENT[0])
        monkeypatch.setenv("HS_CLIENT_SECRET", OAUTH_CLIENT[1])
        folder, ada, _bob = _project(tmp_path, monkeypatch, svc, api.url)
        store.add(1, ada, "Ada L")
        result = erase(folder, [Identity("email", ada)])
        assert result.ok, result.error
        assert store.of(ada) == []
        assert api.log[0][1] == "/oauth/v1/token"
        monkeypatch.setenv("HS_CLIENT_SECRET", "not-the-secret")
        refused = access(folder, [Identity("email", ada)])
        assert isinstance(refused.error, ConnectorError)
        assert "token" in refused.error.one_line()

"""SaaS HTTP services declared in YAML, against a local server written from Stripe's API docs:
pagination, access, erasure, 429 Retry-After and 5xx back-off, refusals, resumption."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from troth.datamap.demo import create_demo_db
from troth.datamap.model import DataMap
from troth.dsr import Identity, access, erase
from troth.errors import ConfigError, ConnectorError, RequestError, StoreDownError

from .stripe_server import KEY, StripeServer

ROOT = Path(__file__).resolve().parents[2]
PLUS = ROOT / "examples" / "plus"
STRIPE = yaml.safe_load((ROOT / "examples" / "services" / "stripe.yaml").read_text())


@pytest.fixture
def stripe() -> Iterator[StripeServer]:
    with StripeServer() as server:
        yield server


@pytest.fixture
def project(
    tmp_path: Path, troth_env: Path, stripe: StripeServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str, str]:
    """The Plus example with the shipped Stripe config (pages of 2, quick back-off)."""
    folder = tmp_path / "plus"
    folder.mkdir()
    shutil.copy(PLUS / "policy.yaml", folder / "policy.yaml")
    service = json.loads(json.dumps(STRIPE))
    service["backoff"] = 0.01
    service["resources"][0]["pagination"]["page_size"] = 2
    datamap = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    datamap["services"] = [service]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    data_url = f"sqlite:///{tmp_path / 'plus.db'}"
    create_demo_db(data_url, "plus", customers=10)
    monkeypatch.setenv("TROTH_CONN_PLUS_APP", data_url)
    monkeypatch.setenv("TROTH_CONN_STRIPE", stripe.url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", KEY)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        ada, bob = [
            r[0] for r in c.exec_driver_sql("SELECT email FROM accounts ORDER BY id LIMIT 2")
        ]
    engine.dispose()
    for n in range(3):
        stripe.add(n, ada, "Ada L")
    stripe.add(10, bob, "Bob B")
    stripe.add(11, "carol@example.com", "Carol")
    return folder, ada, bob


def _digest(customers: list[dict[str, Any]]) -> dict[str, str]:
    return {
        c["id"]: hashlib.sha256(json.dumps(c, sort_keys=True).encode()).hexdigest()
        for c in customers
    }


def test_access_follows_every_page(project: tuple[Path, str, str], stripe: StripeServer) -> None:
    folder, ada, bob = project
    result = access(folder, [Identity("email", ada)])
    assert {t["table"]: t["rows"] for t in result.tables}["stripe.customers"] == 3
    assert result.export is not None
    with zipfile.ZipFile(result.export) as zf:
        rows = json.loads(zf.read("json/stripe.customers.json"))
    assert sorted(r["id"] for r in rows) == ["cus_000000", "cus_000001", "cus_000002"]
    assert bob not in json.dumps(rows)
    pages = [entry for entry in stripe.log if entry[0] == "GET"]
    assert len(pages) == 2  # 3 customers in pages of 2, via starting_after


def test_erasure_deletes_only_the_persons_items_and_runs_once(
    project: tuple[Path, str, str], stripe: StripeServer
) -> None:
    folder, ada, _bob = project
    before = _digest(stripe.customers)
    dry = erase(folder, [Identity("email", ada)], dry_run=True)
    assert {t["table"]: t["rows"] for t in dry.tables}["stripe.customers"] == 3
    assert _digest(stripe.customers) == before
    assert not [e for e in stripe.log if e[0] == "DELETE"]

    first = erase(folder, [Identity("email", ada)])
    assert first.ok, first.error
    after = _digest(stripe.customers)
    assert set(before) - set(after) == {"cus_000000", "cus_000001", "cus_000002"}
    assert all(before[k] == v for k, v in after.items())  # the others are unchanged

    deletes = len([e for e in stripe.log if e[0] == "DELETE"])
    second = erase(folder, [Identity("email", ada)])
    assert second.ok
    assert {t["table"]: t["rows"] for t in second.tables}["stripe.customers"] == 0
    assert len([e for e in stripe.log if e[0] == "DELETE"]) == deletes  # nothing sent again


def test_429_and_503_are_retried_and_the_request_completes(
    project: tuple[Path, str, str], stripe: StripeServer
) -> None:
    folder, ada, _bob = project
    stripe.fail = [(429, {"Retry-After": "1"}), (503, {})]
    result = erase(folder, [Identity("email", ada)])
    assert result.ok, result.error
    assert [e[2] for e in stripe.log[:3]] == [429, 503, 200]
    assert not [c for c in stripe.customers if c["email"] == ada]


def test_service_down_fails_retryably_and_the_request_resumes(
    project: tuple[Path, str, str], stripe: StripeServer
) -> None:
    folder, ada, _bob = project
    stripe.fail = [(503, {})] * 6  # max_retries 5: six answers, all 503
    failed = erase(folder, [Identity("email", ada)])
    assert isinstance(failed.error, StoreDownError)
    assert failed.error.retryable
    assert "stripe" in failed.error.one_line()
    again = erase(folder, [Identity("email", ada)])
    assert again.ok
    assert again.request is not None
    assert failed.request is not None
    assert again.request.id == failed.request.id
    assert not [c for c in stripe.customers if c["email"] == ada]


def test_a_refused_key_is_a_clear_error_without_the_secret(
    project: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, ada, _bob = project
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_wrong_secret")
    result = access(folder, [Identity("email", ada)])
    assert isinstance(result.error, ConnectorError)
    line = result.error.one_line()
    assert "401" in line
    assert "sk_test_wrong_secret" not in line
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    missing = access(folder, [Identity("email", ada)])
    assert isinstance(missing.error, ConfigError)
    assert "STRIPE_SECRET_KEY" in missing.error.one_line()


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        names = sa.inspect(c).get_table_names()
        rows = {n: sorted(map(tuple, c.exec_driver_sql(f'SELECT * FROM "{n}"')), key=repr)
                for n in names}  # fmt: skip
    engine.dispose()
    return rows


def test_an_erasure_reaching_a_resource_without_erase_refuses_before_any_write(
    project: tuple[Path, str, str], stripe: StripeServer, tmp_path: Path
) -> None:
    folder, ada, _bob = project
    datamap = yaml.safe_load((folder / "datamap.yaml").read_text())
    del datamap["services"][0]["resources"][0]["erase"]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'plus.db'}"
    before, customers = _rows(url), _digest(stripe.customers)
    for dry_run in (True, False):
        with pytest.raises(RequestError, match=r"stripe\.customers .*add `erase:`"):
            erase(folder, [Identity("email", ada)], dry_run=dry_run)
    assert _rows(url) == before  # the SQL store was not touched either
    assert _digest(stripe.customers) == customers
    assert not [e for e in stripe.log if e[0] == "DELETE"]


def test_service_declarations_are_checked() -> None:
    bad = [
        {**STRIPE, "auth": {"type": "bearer"}},  # no token variable
        {**STRIPE, "headers": {"Authorization": "Bearer x"}},  # a secret in the file
        {**STRIPE, "resources": [{**STRIPE["resources"][0], "identity": "phone"}]},  # unused
    ]
    for service in bad:
        with pytest.raises(ValueError, match=r"needs token|under auth|placeholder"):
            DataMap.model_validate({"services": [service]})
    DataMap.model_validate({"services": [STRIPE]})

"""Rectification beyond SQL: file sets (CSV/Parquet rewritten only where the person's value
differs, a Delta MERGE), Redis hashes, SaaS update requests; and the refusals, before any write,
where a store cannot rectify."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
import redis
import sqlalchemy as sa
import yaml

from troth.datamap.model import DataMap
from troth.dsr import Identity, rectify
from troth.dsr.rectify_others import plan_other_changes, rectify_others, split_changes
from troth.errors import RequestError

from .fake_services import SERVERS, TOKENS, Store
from .test_files import file_hashes, project  # noqa: F401  (the file-set project fixture)
from .test_redis import KEYSTORE

PLUS = Path(__file__).resolve().parents[2] / "examples" / "plus"


def _map(**sections: Any) -> DataMap:
    data = yaml.safe_load((PLUS / "datamap.yaml").read_text())
    data.update(sections)
    return DataMap.model_validate(data)


def test_files_are_rectified_only_where_the_persons_value_differs(
    project: tuple[Path, Path, str, str],  # noqa: F811
) -> None:
    folder, lake, ada, bob = project
    before = file_hashes(lake)
    sql = sa.create_engine(os.environ["TROTH_CONN_PLUS_APP"])
    with sql.connect() as c:
        names = c.exec_driver_sql("SELECT display_name FROM accounts ORDER BY id").all()
    too_big = {"lake.orders.total": 99.5, "accounts.display_name": "Changed"}
    with pytest.raises(RequestError, match="does not fit the column's type"):  # DECIMAL(2,1)
        rectify(folder, [Identity("email", ada)], too_big)
    assert file_hashes(lake) == before
    with sql.connect() as c:  # refused before the SQL store was written either
        assert c.exec_driver_sql("SELECT display_name FROM accounts ORDER BY id").all() == names
    sql.dispose()
    changes = {"lake.contacts.city": "Capital City", "lake.orders.total": 9.5}
    result = rectify(folder, [Identity("email", ada)], changes)
    assert result.ok
    by_table = {t["table"]: t for t in result.tables}
    assert (by_table["lake.contacts"]["rows"], by_table["lake.contacts"]["files"]) == (1, 1)
    assert (by_table["lake.orders"]["rows"], by_table["lake.orders"]["files"]) == (1, 1)
    after = file_hashes(lake)
    changed = {f for f in before if before[f] != after[f]}
    assert changed == {"contacts.csv", "orders/part-0.parquet"}  # bob's files untouched
    csv = (lake / "contacts.csv").read_text()
    assert "Capital City" in csv
    assert "Shelbyville" in csv  # bob's city
    rows = (
        duckdb.connect()
        .execute(f"SELECT email, total FROM read_parquet('{lake}/orders/part-0.parquet')")
        .fetchall()
    )
    assert sorted(float(t) for e, t in rows if e == ada) == [9.5]
    assert sorted(float(t) for e, t in rows if e == bob) == [1.5, 2.5]
    again = rectify(folder, [Identity("email", ada)], changes)
    assert [t["rows"] for t in again.tables if t["table"].startswith("lake.")] == [0, 0]
    assert file_hashes(lake) == after  # a second run rewrites nothing


def test_delta_rows_are_rectified_by_one_merge(tmp_path: Path) -> None:
    deltalake = pytest.importorskip("deltalake")
    import pyarrow as pa

    path = tmp_path / "lake" / "customers"
    rows = {"email": ["ada@example.com", "bob@example.com"], "city": ["Springfield", "Ogdenville"]}
    deltalake.write_deltalake(str(path), pa.table(rows))
    datamap = _map(filesets=[{"name": "lake", "connection": "lake", "tables": [
        {"name": "customers", "path": "customers", "format": "delta", "fields": [
            {"name": "email", "identity": "email", "categories": ["user.contact.email"]},
            {"name": "city", "categories": ["user.contact.address.city"]}]}]}])  # fmt: skip
    env = {"TROTH_CONN_LAKE": (tmp_path / "lake").as_uri()}
    who = [Identity("email", "ADA@example.com")]
    _sql, other = split_changes(datamap, {"lake.customers.city": "Capital City"})
    [result] = rectify_others(plan_other_changes(datamap, who, other), env)
    assert (result["rows"], result["version"], result["old_versions_kept"]) == (1, 1, True)
    table = deltalake.DeltaTable(str(path)).to_pyarrow_table().to_pylist()
    assert {r["email"]: r["city"] for r in table} == {
        "ada@example.com": "Capital City",
        "bob@example.com": "Ogdenville",
    }
    [again] = rectify_others(plan_other_changes(datamap, who, other), env)
    assert (again["rows"], again["version"]) == (0, 1)  # no new version


def test_redis_hash_fields_are_rectified(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.hset("profile:ada@example.com", mapping={"name": "Ada", "plan": "pro"})
    client.hset("profile:bob@example.com", mapping={"name": "Bob"})
    datamap = _map(keystores=[KEYSTORE])
    env = {"TROTH_CONN_PLUS_CACHE": redis_url}
    who = [Identity("email", "ada@example.com")]
    _sql, other = split_changes(datamap, {"cache.profiles.name": "Ada King"})
    [result] = rectify_others(plan_other_changes(datamap, who, other), env)
    assert result["rows"] == 1
    assert client.hget("profile:ada@example.com", "name") == b"Ada King"
    assert client.hget("profile:ada@example.com", "plan") == b"pro"
    assert client.hget("profile:bob@example.com", "name") == b"Bob"
    [again] = rectify_others(plan_other_changes(datamap, who, other), env)
    assert again["rows"] == 0
    client.close()


def test_saas_update_request() -> None:
    store = Store()
    store.add(1, "ada@example.com", "Ada")
    store.add(2, "bob@example.com", "Bob")
    svc = yaml.safe_load((PLUS.parent / "services" / "hubspot.yaml").read_text())
    datamap = _map(services=[svc])
    with SERVERS["hubspot"](store) as api:
        api.fail = [(429, {}), (503, {})]  # retried inside the service's client
        env = {"TROTH_CONN_HUBSPOT": api.url, "HUBSPOT_TOKEN": TOKENS["hubspot"]}
        who = [Identity("email", "ada@example.com")]
        _sql, other = split_changes(datamap, {"hubspot.contacts.firstname": "Ada King"})
        datamap.services[0].backoff = 0.01
        [result] = rectify_others(plan_other_changes(datamap, who, other), env)
    assert result["rows"] == 1
    assert {i["email"]: i["name"] for i in store.items} == {
        "ada@example.com": "Ada King",
        "bob@example.com": "Bob",
    }


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("cache.profiles.plan", "key pattern cache.profiles has no hash field 'plan'"),
        ("cache.sessions.ip", "key pattern cache.sessions has no hash field 'ip'"),
        ("freshdesk.contacts.name", "service resource freshdesk.contacts declares no update"),
        ("hubspot.contacts.lastname", "its update request sets only firstname"),
        ("lake.contacts.nope", "not a field of the file table"),
    ],
)
def test_what_a_store_cannot_rectify_is_refused(address: str, reason: str) -> None:
    svcs = [yaml.safe_load((PLUS.parent / "services" / f"{n}.yaml").read_text())
            for n in ("hubspot", "freshdesk")]  # fmt: skip
    fileset = {"name": "lake", "connection": "lake", "tables": [
        {"name": "contacts", "path": "c.csv", "format": "csv",
         "fields": [{"name": "email", "identity": "email"}]}]}  # fmt: skip
    datamap = _map(keystores=[KEYSTORE], services=svcs, filesets=[fileset])
    with pytest.raises(RequestError) as err:
        split_changes(datamap, {address: "x"})
    assert reason in err.value.one_line()


def test_a_store_the_identities_do_not_reach_is_refused() -> None:
    datamap = _map(keystores=[KEYSTORE])
    _sql, other = split_changes(datamap, {"cache.profiles.name": "x"})
    with pytest.raises(RequestError, match=r"cache\.profiles not reached"):
        plan_other_changes(datamap, [Identity("user_id", "7")], other)


def test_sql_addresses_pass_through() -> None:
    sql, other = split_changes(_map(), {"crm_contacts.city": "x"})
    assert sql == {"crm_contacts.city": "x"}
    assert not other
    assert TOKENS  # the fake services are importable beside these tests

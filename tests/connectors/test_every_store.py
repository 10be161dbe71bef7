"""Issue 12, done when: a demo deployment of each example with its SQL store, a Redis key store, a
Parquet/CSV/NDJSON folder, a Delta table and two local SaaS servers (Stripe, HubSpot).

One access request returns the person's data from every store (and, for Plus, the recipients it
was disclosed to); one erasure erases it everywhere, proven by hashing every SQL row, every Redis
key (DUMP), every file and every Delta row before and after: only the person's changed; the
courier is told (Plus); a second run changes and sends nothing; 429 and 503 are retried; an
erasure killed between stores resumes to the same hashes as an uninterrupted run. MyDigiSoft
declares no recipient (MD-7): the courier disclosure is refused and nobody is told.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import redis
import sqlalchemy as sa
import yaml
from deltalake import DeltaTable, write_deltalake

from mail import Mailbox, mail_to
from sharing.notice_support import state
from troth.config import Settings
from troth.datamap.demo import create_demo_db
from troth.dsr import Identity, access, erase, status
from troth.dsr.execute import CRASH_ENV
from troth.errors import DisclosureRefusedError
from troth.sharing import Gateway
from troth.sharing.notices import notices
from troth.worker.embedded import drain
from troth.worker.jobs import Context

from .fake_services import TOKENS, Store, hubspot
from .fakeapi import FakeApi
from .stripe_server import KEY, StripeServer
from .test_delta import DELTA_TABLE
from .test_files import FILESET, file_hashes
from .test_redis import KEYSTORE, snapshot

ROOT = Path(__file__).resolve().parents[2]
#: per example: its SQL connection, the table whose first row is the person, and its recipients
EXAMPLES = {
    "plus": ("plus_app", "crm_contacts"),
    "mydigisoft": ("mydigisoft_shop", "customers"),
}
DELTA = {**DELTA_TABLE, "vacuum_hours": 0}
COURIER_MAIL = "dispatch@courier.example.com"  # declared in examples/plus/policy.yaml
OTHER = "someone-else@example.com"
OTHER_STORES = {"cache", "lake", "stripe", "hubspot"}  # the stores beside the SQL one


def _service(name: str) -> dict[str, Any]:
    svc: dict[str, Any] = yaml.safe_load(
        (ROOT / "examples" / "services" / f"{name}.yaml").read_text()
    )
    svc["backoff"] = 0.01
    return svc


@dataclass
class Deployment:
    example: str
    folder: Path
    data_url: str
    lake: Path
    redis_url: str
    person: dict[str, Any]
    other: dict[str, Any]
    stripe: StripeServer
    hubspot: FakeApi
    crm: Store

    @property
    def who(self) -> list[Identity]:
        return [Identity("email", str(self.person["email"]))]


def deploy(
    example: str, root: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, stack: ExitStack
) -> Deployment:
    """The example with every kind of store, filled with the person, another person and strangers."""
    conn, table = EXAMPLES[example]
    root.mkdir()
    monkeypatch.setenv("TROTH_HOME", str(root / "troth-home"))  # its own state DB and ledger
    folder = root / example
    folder.mkdir()
    shutil.copy(ROOT / "examples" / example / "policy.yaml", folder / "policy.yaml")
    datamap = yaml.safe_load((ROOT / "examples" / example / "datamap.yaml").read_text())
    datamap["keystores"] = [KEYSTORE]
    datamap["filesets"] = [{**FILESET, "tables": [*FILESET["tables"], DELTA]}]
    datamap["services"] = [_service("stripe"), _service("hubspot")]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))

    data_url = f"sqlite:///{root / 'data.db'}"
    create_demo_db(data_url, example, customers=10)
    monkeypatch.setenv(f"TROTH_CONN_{conn.upper()}", data_url)
    engine = sa.create_engine(data_url)
    with engine.connect() as c:
        person, other = [dict(r._mapping) for r in
                         c.execute(sa.text(f"SELECT * FROM {table} ORDER BY id LIMIT 2"))]  # fmt: skip
    engine.dispose()
    ada, bob = str(person["email"]), str(other["email"])

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    for n, email in enumerate([ada, bob]):
        client.set(f"session:{email}:s1", json.dumps({"ip": f"192.0.2.{n}"}))
        client.set(f"ratelimit:{email}", 5)
        client.hset(f"profile:{email}", mapping={"name": f"Person {n}", "ip": "192.0.2.9",
                                                 "phone": "+1 555 0100", "plan": "pro"})  # fmt: skip
    client.set(f"session:{OTHER}:s1", "y")
    client.rpush("queue:jobs", "a", "b")
    client.close()
    monkeypatch.setenv("TROTH_CONN_PLUS_CACHE", redis_url)

    lake = root / "lake"
    _write_lake(lake, ada, bob)
    monkeypatch.setenv("TROTH_CONN_PLUS_LAKE", lake.as_uri())

    stripe = stack.enter_context(StripeServer())
    for n, email in enumerate([ada, bob, OTHER]):
        stripe.add(n, email, f"Person {n}")
    stripe.add(9, ada, "Ada again")
    crm = Store()
    api = stack.enter_context(hubspot(crm))
    for n, email in enumerate([ada, bob, ada]):
        crm.add(100 + n, email, f"Person {n}")
    monkeypatch.setenv("TROTH_CONN_STRIPE", stripe.url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", KEY)
    monkeypatch.setenv("TROTH_CONN_HUBSPOT", api.url)
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKENS["hubspot"])
    return Deployment(example, folder, data_url, lake, redis_url, person, other, stripe, api, crm)


def _write_lake(lake: Path, ada: str, bob: str) -> None:
    db = duckdb.connect()
    (lake / "orders").mkdir(parents=True)
    (lake / "events").mkdir()
    for n, people in enumerate([[ada, bob], [bob], [OTHER]]):
        rows = ", ".join(f"('{p}', {10 * n + i}.5)" for i, p in enumerate(people))
        db.execute(f"COPY (SELECT * FROM (VALUES {rows}) t(email, total)) "
                   f"TO '{lake / 'orders' / f'part-{n}.parquet'}' (FORMAT parquet)")  # fmt: skip
    db.close()
    (lake / "contacts.csv").write_text(
        f"email,name,city\n{ada.upper()},Ada L,Springfield\n{bob},Bob B,Shelbyville\n"
    )
    (lake / "events" / "a.ndjson").write_text(
        json.dumps({"user": ada, "kind": "login"})
        + "\n"
        + json.dumps({"user": bob, "kind": "buy"})
        + "\n"
    )
    (lake / "events" / "b.ndjson").write_text(json.dumps({"user": bob, "kind": "buy"}) + "\n")
    path = str(lake / "delta" / "customers")
    write_deltalake(path, pa.table({"email": [ada.upper(), bob], "name": ["Ada L", "Bob B"],
                                    "plan": ["pro", "free"]}))  # fmt: skip
    write_deltalake(path, pa.table({"email": [OTHER], "name": ["Carol"], "plan": ["pro"]}),
                    mode="append")  # fmt: skip


# --- hashes of every store ---------------------------------------------------------------------


def _h(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def sql_rows(url: str) -> dict[tuple[str, str], str]:
    """Every row of every table, by (table, first column), hashed."""
    engine = sa.create_engine(url)
    out: dict[tuple[str, str], str] = {}
    with engine.connect() as c:
        for table in sa.inspect(c).get_table_names():
            rows = c.execute(sa.text(f"SELECT * FROM {table}")).fetchall()
            for r in rows:
                out[(table, str(r[0]))] = _h(tuple(r))
            assert len({str(r[0]) for r in rows}) == len(rows), table  # the key is unique
    engine.dispose()
    return out


def delta_rows(lake: Path) -> list[str]:
    table = DeltaTable(str(lake / "delta" / "customers")).to_pyarrow_table()
    return sorted(repr(sorted(r.items())) for r in table.to_pylist())


def lake_rows(lake: Path) -> dict[str, list[str]]:
    """Per file outside the Delta table, its rows (as read by DuckDB), sorted."""
    readers = {".parquet": "read_parquet", ".csv": "read_csv", ".ndjson": "read_json"}
    db = duckdb.connect()
    out = {}
    for p in sorted(lake.rglob("*")):
        if p.suffix in readers and "delta" not in p.parts:
            opts = ", all_varchar = true" if p.suffix == ".csv" else ""
            rows = db.execute(f"SELECT * FROM {readers[p.suffix]}('{p}'{opts})").fetchall()
            out[str(p.relative_to(lake))] = sorted(repr(r) for r in rows)
    db.close()
    return out


def hashes(d: Deployment) -> dict[str, Any]:
    """Every row, key, file and item of the deployment (file bytes outside the Delta table)."""
    return {
        "sql": sql_rows(d.data_url),
        "redis": snapshot(d.redis_url),
        "files": {f: h for f, h in file_hashes(d.lake).items() if not f.startswith("delta/")},
        "file_rows": lake_rows(d.lake),
        "delta": delta_rows(d.lake),
        "delta_version": DeltaTable(str(d.lake / "delta" / "customers")).version(),
        "stripe": sorted(json.dumps(c, sort_keys=True) for c in d.stripe.customers),
        "hubspot": sorted(json.dumps(i, sort_keys=True) for i in d.crm.items),
    }


def _changed(before: dict[Any, Any], after: dict[Any, Any]) -> set[Any]:
    """The keys (rows, Redis keys, files, or whole stores) whose hash differs."""
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def person_sql_keys(export: Path) -> set[tuple[str, str]]:
    """(table, first column) of the person's SQL rows, from the access copy."""
    with zipfile.ZipFile(export) as zf:
        keys = set()
        for name in zf.namelist():
            dataset, _, table = name.removeprefix("json/").removesuffix(".json").partition(".")
            if name.startswith("json/") and dataset not in OTHER_STORES:
                keys |= {(table, str(next(iter(r.values())))) for r in json.loads(zf.read(name))}
    return keys


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with mail_to(monkeypatch, "privacy@plus.example.com") as box:
        yield box


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


@pytest.fixture
def deployment(
    example: str,
    tmp_path: Path,
    troth_env: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    stack: ExitStack,
) -> Callable[[str], Deployment]:
    """Deploys the example afresh into the test's folder *name* (see ``deploy``)."""
    return lambda name: deploy(example, tmp_path / name, redis_url, monkeypatch, stack)


def share_with_courier(d: Deployment) -> None:
    """The courier gets the person's delivery address through the gateway (Plus); MyDigiSoft
    declares no recipient (MD-7), so its gateway refuses."""
    gw = Gateway.from_project(d.folder, Settings.from_env())
    if d.example == "mydigisoft":
        with pytest.raises(DisclosureRefusedError):
            gw.disclose("courier_service", "courier_delivery", d.person, table="customers")
        return
    gw.disclose("courier_service", "courier_delivery", d.person, table="crm_contacts")


def run_jobs(d: Deployment) -> None:
    ctx = Context(d.folder, Settings.from_env())
    while drain(ctx):
        pass


#: what a run killed at each point has changed: nothing (killed inside the SQL store, before its
#: commit), the SQL store and Redis, or everything but the second SaaS service
LAKE = {"files", "file_rows", "delta", "delta_version"}
MIDWAY = {"step:1": set(), "store:2": {"sql", "redis"},
          "store:4": {"sql", "redis", *LAKE, "stripe"}}  # fmt: skip


# --- the tests ---------------------------------------------------------------------------------


def test_access_then_erasure_everywhere_then_a_noop(
    example: str, deployment: Callable[[str], Deployment], smtp: Mailbox
) -> None:
    d = deployment("d")
    ada, bob = str(d.person["email"]), str(d.other["email"])
    share_with_courier(d)

    # 1. one access request: the person's data from every store, and the recipients
    result = access(d.folder, d.who)
    assert result.ok, result.error
    assert result.export is not None
    rows = {t["table"]: t["rows"] for t in result.tables}
    stores = {"cache.sessions": 1, "cache.rate_limits": 1, "cache.profiles": 1,
              "lake.orders": 1, "lake.contacts": 1, "lake.events": 1, "lake.customers": 1,
              "stripe.customers": 2, "hubspot.contacts": 2}  # fmt: skip
    assert {t: rows.get(t) for t in stores} == stores
    with zipfile.ZipFile(result.export) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        for table in stores:
            assert f"json/{table}.json" in names, table
            text = zf.read(f"json/{table}.json").decode().lower()
            assert bob.lower() not in text, table  # only the person's data
        assert ada.lower() in zf.read("json/stripe.customers.json").decode()
        assert "Ada L" in zf.read("json/lake.customers.json").decode()
        assert "Person 0" in zf.read("json/cache.profiles.json").decode()
    sql_tables = [t for t in rows if t.split(".")[0] not in OTHER_STORES]
    assert sql_tables  # and the demo SQL store
    recipients = [r["recipient"] for r in manifest["disclosed_to"]]
    assert recipients == (["courier_service"] if example == "plus" else [])

    # 2. one erasure erases the person everywhere, and only the person
    before = hashes(d)
    person_sql = person_sql_keys(result.export)
    first = erase(d.folder, d.who)
    assert first.ok, first.error
    after = hashes(d)
    changed_sql = _changed(before["sql"], after["sql"])
    assert changed_sql
    assert changed_sql <= person_sql  # no one else's row changed
    changed_keys = _changed(before["redis"], after["redis"])
    assert changed_keys == {f"session:{ada}:s1".encode(), f"ratelimit:{ada}".encode(),
                            f"profile:{ada}".encode()}  # fmt: skip
    assert f"profile:{ada}".encode() in after["redis"]  # masked, not deleted
    assert set(after["files"]) == set(before["files"])  # no file lost, no temp file left
    assert _changed(before["files"], after["files"]) == {
        "orders/part-0.parquet", "contacts.csv", "events/a.ndjson"}  # fmt: skip
    for f, was in before["file_rows"].items():
        gone = [r for r in was if r not in after["file_rows"][f]]
        assert all(ada.lower() in r.lower() for r in gone), f
        assert all(ada.lower() not in r.lower() for r in after["file_rows"][f]), f
    gone = [r for r in before["delta"] if r not in after["delta"]]
    assert len(gone) == 1
    assert ada.lower() in gone[0].lower()
    assert len(after["delta"]) == len(before["delta"])  # masked, the others identical
    log = d.lake / "delta" / "customers" / "_delta_log"  # nor its log's statistics (vacuumed)
    assert [p.name for p in log.glob("*.json") if ada.lower() in p.read_text().lower()] == []
    assert not any(ada in s for s in after["stripe"] + after["hubspot"])
    assert len(after["stripe"]) == 2
    assert len(after["hubspot"]) == 1  # bob's: untouched
    for name in ("stripe", "hubspot"):
        assert set(after[name]) <= set(before[name])
    assert first.request is not None
    sent = notices(state(), first.request.id)
    if example == "plus":  # Art. 19: the courier is told, by e-mail
        assert [(n.recipient, n.channel) for n in sent] == [("courier_service", "email")]
        run_jobs(d)
        [mail] = smtp.messages
        assert [n.status for n in notices(state(), first.request.id)] == ["sent"]
        assert mail["To"] == COURIER_MAIL
        assert ada not in mail.get_content()
    else:  # MD-7: nobody received anything, nobody is told
        assert sent == []
        assert first.notices == []

    # 3. a second erasure changes nothing and sends nothing
    stripe_calls, hubspot_calls = len(d.stripe.log), len(d.hubspot.log)
    second = erase(d.folder, d.who)
    assert second.ok, second.error
    assert second.notices == []
    assert hashes(d) == after
    run_jobs(d)
    assert len(smtp.messages) == (1 if example == "plus" else 0)
    assert [e[0] for e in d.stripe.log[stripe_calls:]] == ["GET"]  # found nothing to delete
    assert [e[0] for e in d.hubspot.log[hubspot_calls:]] == ["POST"]  # the search only


def test_saas_429_then_503_is_retried_and_the_erasure_completes(
    deployment: Callable[[str], Deployment],
) -> None:
    d = deployment("d")
    ada = str(d.person["email"])
    d.stripe.fail = [(429, {"Retry-After": "0"}), (503, {})]
    d.hubspot.fail = [(429, {}), (503, {})]
    result = erase(d.folder, d.who)
    assert result.ok, result.error
    assert [s for _m, _p, s in d.stripe.log[:3]] == [429, 503, 200]
    assert [s for _m, _p, s in d.hubspot.log[:3]] == [429, 503, 200]
    assert not [c for c in d.stripe.customers if c["email"] == ada]
    assert d.crm.of(ada) == []


@pytest.mark.parametrize("crash", sorted(MIDWAY))
def test_an_erasure_killed_between_stores_resumes_to_the_same_hashes(
    crash: str, example: str, deployment: Callable[[str], Deployment]
) -> None:
    # the reference: an uninterrupted erasure of a fresh deployment
    ref = deployment("ref")
    share_with_courier(ref)
    assert erase(ref.folder, ref.who).ok
    expected = hashes(ref)

    d = deployment("d")
    share_with_courier(d)
    before = hashes(d)
    code = textwrap.dedent(f"""
        from troth.dsr import Identity, erase
        erase({str(d.folder)!r}, [Identity("email", {str(d.person["email"])!r})])
    """)
    env = {**os.environ, CRASH_ENV: crash, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    (killed,) = status(settings=Settings.from_env())
    assert killed.status == "running"
    midway = hashes(d)
    assert _changed(before, midway) == MIDWAY[crash]  # which stores changed

    again = erase(d.folder, d.who)
    assert again.status == "completed"
    assert again.request is not None
    assert again.request.id == killed.id  # the same request, resumed
    assert hashes(d) == expected
    queued = notices(state(), again.request.id)
    assert len(queued) == (1 if example == "plus" else 0)  # queued once, not once per run

"""Data-subject requests on a multi-tenant helpdesk, on SQLite, PostgreSQL and MariaDB.

Every test hashes every row of every table before and after, so it proves that exactly the
person's rows in scope changed, and that a second run changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import helpdesk
import pytest
import sqlalchemy as sa

from troth.config import Settings
from troth.dsr import Identity, access, erase
from troth.errors import RequestError
from troth.store import open_store

ADA = Identity("email", "ada@example.com")
TENANT_1 = {"tenant": "1"}


def _url() -> str:
    return os.environ["TROTH_CONN_HELPDESK_DB"]


def _by_table(result_tables: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {
        str(t["table"]) + ("" if t["action"] != "mask_mention" else "#mention"): t
        for t in result_tables
    }


def test_erasure_changes_exactly_the_persons_rows_in_scope(desk: Path) -> None:
    url = _url()
    before = helpdesk.snapshot(url)
    result = erase(desk, [ADA], scope=TENANT_1)
    assert result.status == "completed", result.request
    after = helpdesk.snapshot(url)
    assert helpdesk.changed(before, after) == {
        "customers": 1,  # Ada in tenant 1 only: not her tenant-2 self, not José or Jose
        "tickets": 3,  # hers (1 masked: Bob's ticket points at it; 3 deleted), Bob's #4 cc
        "ticket_tags": 2,  # her ticket's links, never the tags on the other side
        "ticket_events": 4,  # both identical rows and the others of her tickets
        "customer_notes": 2,  # composite key
        "invoices": 1,  # the one past its 10-year hold; the one inside it is kept
    }
    rows = {r["id"]: r for r in helpdesk.table_rows(url, "SELECT * FROM customers")}
    assert len(rows[1]["email"]) == 64  # keyed hash
    assert rows[1]["name"] == "[redacted]"
    assert rows[1]["phone"] is None
    assert rows[2]["email"] == "ADA@example.com "  # the other tenant's customer: untouched
    tickets = {r["id"]: r for r in helpdesk.table_rows(url, "SELECT * FROM tickets")}
    assert 3 not in tickets  # deleted: nothing points at it (it points at Bob's, which stays)
    assert tickets[1]["subject"] == "[redacted]"  # masked: Bob's ticket 2 was merged into it
    assert tickets[2]["merged_into"] == 1  # no reference dangles
    ada_meta = _json(tickets[1]["meta"])
    assert ada_meta["channel"] == "email"
    assert ada_meta["cc"] != ["bob@example.com"]  # her row: every cc value masked
    bob_meta = _json(tickets[4]["meta"])
    assert bob_meta["cc"][1:] == ["carol@example.com", 7]  # only her address, types kept
    assert len(bob_meta["cc"][0]) == 64
    assert bob_meta["channel"] == "chat"
    assert helpdesk.table_rows(url, "SELECT ticket_id, tag_id FROM ticket_tags") == [
        {"ticket_id": 4, "tag_id": 1}
    ]
    invoices = {r["id"] for r in helpdesk.table_rows(url, "SELECT id FROM invoices")}
    assert invoices == {1, 3, 4}
    tables = _by_table(result.tables)
    assert tables["desk.tickets"]["masked_instead"] == 1
    assert tables["desk.tickets"]["rows"] == 1
    assert tables["desk.invoices"]["kept_rows"] == 1
    assert tables["desk.tickets#mention"]["rows"] == 1
    # a second run finds nothing more to do and changes nothing
    again = erase(desk, [ADA], scope=TENANT_1)
    assert again.status == "completed"
    assert helpdesk.snapshot(url) == after


def test_dry_run_counts_are_the_runs_counts_and_change_nothing(desk: Path) -> None:
    url = _url()
    before = helpdesk.snapshot(url)
    dry = erase(desk, [ADA], scope=TENANT_1, dry_run=True)
    assert helpdesk.snapshot(url) == before
    real = erase(desk, [ADA], scope=TENANT_1)
    assert dry.tables == real.tables


def test_access_exports_every_row_as_often_as_it_exists(desk: Path, tmp_path: Path) -> None:
    url = _url()
    before = helpdesk.snapshot(url)
    out = access(desk, [Identity("email", "Ada@Example.COM")], scope=TENANT_1)
    assert out.status == "completed"
    counts = {
        str(t["table"]) + ("#mention" if t["action"] == "mention" else ""): t["rows"]
        for t in out.tables
    }
    assert counts["desk.customers"] == 1
    assert counts["desk.tickets"] == 2
    assert counts["desk.ticket_events"] == 4  # the two identical rows are both hers
    assert counts["desk.ticket_tags"] == 2
    assert counts["desk.customer_notes"] == 2
    assert counts["desk.invoices"] == 2
    assert counts["desk.tickets#mention"] == 1
    assert "desk.agents" not in counts or counts["desk.agents"] == 0
    other = access(desk, [ADA], scope={"tenant": "2"})
    assert {t["table"]: t["rows"] for t in other.tables if t["action"] == "access"}[
        "desk.customers"
    ] == 1
    assert helpdesk.snapshot(url) == before


@pytest.mark.parametrize(
    ("identity", "tenant", "expected"),
    [
        (Identity("email", "Ada@Example.COM"), "1", {1}),
        (Identity("email", "  ada@example.com\t"), "2", {2}),  # stored "ADA@example.com "
        (Identity("email", "jos\u00e9@example.com"), "1", {4}),  # not jose@
        (Identity("email", "jose@example.com"), "1", {5}),  # not josé@ (MariaDB's collation)
        (Identity("phone", "+1 555-0199"), "1", {1}),  # stored +15550199
        (Identity("phone", "+1 (555) 0199"), "2", {2}),  # stored "+1 555-0199"
        (Identity("phone", "555 0188"), "1", {3}),  # stored "(555) 0188", region US
    ],
)
def test_identity_matching_is_the_same_on_every_engine(
    desk: Path, identity: Identity, tenant: str, expected: set[int]
) -> None:
    url = _url()
    before = helpdesk.snapshot(url)
    result = erase(desk, [identity], scope={"tenant": tenant}, dry_run=True)
    customers = _by_table(result.tables)["desk.customers"]
    assert customers["rows"] == len(expected)
    erase(desk, [identity], scope={"tenant": tenant})
    after = {r["id"]: r for r in helpdesk.table_rows(url, "SELECT id, name FROM customers")}
    assert {i for i, r in after.items() if r["name"] == "[redacted]"} == expected
    changed = helpdesk.changed(before, helpdesk.snapshot(url))
    assert changed["customers"] == len(expected)


def test_a_scoped_identity_needs_its_scope(desk: Path) -> None:
    url = _url()
    before = helpdesk.snapshot(url)
    with pytest.raises(RequestError, match="scoped by tenant"):
        erase(desk, [ADA])
    with pytest.raises(RequestError, match="no table this request reaches is scoped by 'shop'"):
        access(desk, [ADA], scope={"tenant": "1", "shop": "x"})
    assert helpdesk.snapshot(url) == before


def test_ledger_records_kept_rows_with_their_hold_and_no_values(desk: Path) -> None:
    erase(desk, [ADA], scope=TENANT_1)
    settings = Settings.from_env()
    with open_store(settings).connect() as c:
        data = [
            json.loads(r[0])
            for r in c.execute(
                sa.text("SELECT data FROM audit_entry WHERE kind = 'dsr.store_erased'")
            )
        ]
    (entry,) = data
    invoices = next(t for t in entry["tables"] if t["table"] == "desk.invoices")
    assert invoices["kept_rows"] == 1
    assert invoices["holds"] == [
        {"hold": "invoices", "field": "*", "reason": "invoices are kept for tax law"}
    ]
    text = json.dumps(data)
    for value in ("ada@example.com", "Ada Lovelace", "5550199"):
        assert value not in text


def test_erasure_that_cannot_mask_a_field_refuses_before_any_write(desk: Path) -> None:
    """A NOT NULL decimal cannot be nulled: the map must say what to do, nothing is written."""
    url = _url()
    text = (desk / "datamap.yaml").read_text()
    text = text.replace(
        "          - name: invoices           # held children of the customer\n"
        "            subject: customer\n"
        "            erase: delete_row\n",
        "          - name: invoices           # held children of the customer\n"
        "            subject: customer\n",
    )
    (desk / "datamap.yaml").write_text(text)
    before = helpdesk.snapshot(url)
    result = erase(desk, [ADA], scope=TENANT_1)
    assert result.status == "failed"
    assert "NOT NULL column desk.invoices.amount" in (result.request.reason or "")  # type: ignore[union-attr]
    assert helpdesk.snapshot(url) == before


def _json(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else json.loads(str(value))  # type: ignore[return-value]

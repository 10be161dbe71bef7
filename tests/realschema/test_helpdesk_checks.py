"""`troth check` on the helpdesk map: erasure actions, walks to other people, scopes, holds; and
`--live`, which measures the walks on the data of each engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from troth.cli import main


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "datamap.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def _findings(
    project: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[dict[str, str]]]:
    code = main(["check", str(project), "--format", "json", *extra])
    out = json.loads(capsys.readouterr().out)
    return code, [f for f in out["findings"] if f["check"].startswith("map.")]


def test_the_helpdesk_map_is_clean_and_its_walks_measure_clean(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = _findings(desk, capsys, "--live")
    assert [f for f in found if f["severity"] == "error"] == []  # (the policy has its own gaps)
    assert code == 1


def test_an_employee_who_owns_customers_is_a_walk_to_other_people(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the employee's e-mail would reach every customer they look after
    _edit(
        desk,
        "{name: support_agent_id, references: [{field: agents.id}]}",
        "{name: support_agent_id, references: [{field: agents.id, kind: owns}]}",
    )
    code, found = _findings(desk, capsys, "--live")
    assert code == 1
    checks = {f["check"]: f for f in found}
    static = checks["map.walk-other-subject"]
    assert "desk.customers.support_agent_id -> desk.agents.id" in static["message"]
    assert "datamap.yaml:34:" in static["where"]  # at the reference's kind
    live = checks["map.walk-fan-out"]
    assert (
        "one email value reaches up to 4 row(s) of other people in desk.customers"
        in live["message"]
    )
    assert "desk.agents.id => desk.customers.support_agent_id (owns)" in live["message"]
    assert "refers" in live["fix"]


def test_a_walk_up_into_the_tenant_is_a_hub_and_reaches_other_people(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(
        desk,
        "              - {name: tenant_id, references: [{field: tenants.id}]}\n"
        "              - {name: email, label: E-mail address",
        "              - {name: tenant_id, references: [{field: tenants.id, kind: same_person}]}\n"
        "              - {name: email, label: E-mail address",
    )
    code, found = _findings(desk, capsys, "--live")
    assert code == 1
    hubs = [f["message"] for f in found if f["check"] == "map.walk-hub"]
    assert any(
        "a row of desk.tenants is reached from up to 4 different email values" in m for m in hubs
    )
    fan = [f["message"] for f in found if f["check"] == "map.walk-fan-out"]
    assert any("other people in desk.customers" in m for m in fan)


def test_static_map_errors_are_located_with_a_fix(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a personal primary key of a masked table; a scope on an unmapped column; a hold that
    # ends since a column the map does not have
    _edit(
        desk,
        "              - {name: seq, primary_key: true}",
        "              - {name: seq, primary_key: true, categories: [user.name]}",
    )
    _edit(
        desk,
        "            scope: {tenant: tenant_id}\n            erase: delete_row",
        "            scope: {tenant: tenant_no}\n            erase: delete_row",
    )
    _edit(desk, "for: 10 years since issued_at", "for: 10 years since issued_on")
    code, found = _findings(desk, capsys)
    assert code == 1
    by_check = {f["check"]: f for f in found}
    assert (
        "desk.customer_notes.seq is personal data erasure cannot handle"
        in by_check["map.no-erasure-action"]["message"]
    )
    assert (
        "column 'tenant_no', which the table does not map"
        in by_check["map.scope-column"]["message"]
    )
    assert "runs since issued_on" in by_check["map.hold-anchor"]["message"]
    for f in by_check.values():
        assert "datamap.yaml:" in f["where"]
        assert f["fix"]


def test_a_column_marked_stored_must_hold_normal_forms(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(
        desk,
        "categories: [user.contact.email], identity: email}\n              - {name: name, categories: [user.name]}\n              - {name: phone",
        "categories: [user.contact.email], identity: email, match: stored}\n              - {name: name, categories: [user.name]}\n              - {name: phone",
    )
    code, found = _findings(desk, capsys, "--live")
    assert code == 1
    (stored,) = [f for f in found if f["check"] == "map.identity-stored"]
    assert "desk.customers.email is marked `match: stored` but 1 of its values" in stored["message"]


def test_actions_lists_every_personal_field(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", str(desk), "--actions"])
    err = capsys.readouterr().err
    assert "desk.customers.email" in err
    assert "mask: hash" in err
    assert "desk.tickets.meta:cc[]" in err
    assert "keep (hold invoices for 10 years since issued_at), then delete row" in err

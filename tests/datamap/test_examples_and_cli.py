"""The example data maps and the `troth datamap` / `troth check` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dm_helpers import SHOP

from troth.cli import main
from troth.connectors import connect
from troth.datamap.demo import create_demo_db
from troth.datamap.graph import Graph
from troth.datamap.live import compare_live
from troth.datamap.loader import load_datamap
from troth.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", ["mydigisoft", "plus"])
def test_example_map_matches_its_demo_schema(example: str, db_url: str) -> None:
    dm = load_datamap(EXAMPLES / example, load_policy(EXAMPLES / example).taxonomy)
    graph = Graph.build(dm.datamap)
    assert graph.dangling == []
    assert graph.unreachable_tables() == []
    create_demo_db(db_url, example, customers=3)
    conn = connect(db_url, "demo")
    try:
        schema = conn.introspect()
    finally:
        conn.close()
    ds = next(dm.datamap.datasets()).name
    assert list(compare_live(dm, {ds: schema})) == []
    assert {t.name for _, t in dm.datamap.tables()} == {t.name for t in schema.tables}


def test_live_check_findings_carry_map_locations(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_demo_db(sqlite_url, "mydigisoft", customers=2)
    text = (EXAMPLES / "mydigisoft" / "datamap.yaml").read_text()
    text = text.replace("{name: last_login, retention", "{name: last_seen_at, retention")
    text = text.replace("- name: licences", "- name: licenses")
    text = text.replace("{field: orders.id, kind: owns}", "{field: orders.ident}")
    (tmp_path / "datamap.yaml").write_text(text)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", sqlite_url)
    assert main(["datamap", "check", str(tmp_path), "--live", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    live = {f["message"]: f["where"] for f in out["findings"] if f["check"] == "map.live-schema"}
    assert any("column shop.customers.last_seen_at is not in the live table" in m for m in live)
    assert any("table shop.licenses is not in the live store" in m for m in live)
    assert any(
        "references shop.orders.ident, but the live store has no such column" in m for m in live
    )
    assert all(w.startswith(str(tmp_path / "datamap.yaml") + ":") for w in live.values())
    assert sqlite_url not in json.dumps(out)
    # the unmodified map matches the same store (its other findings are the policy's gaps)
    shutil.copy(EXAMPLES / "mydigisoft" / "datamap.yaml", tmp_path / "datamap.yaml")
    shutil.copy(EXAMPLES / "mydigisoft" / "policy.yaml", tmp_path / "policy.yaml")
    main(["datamap", "check", str(tmp_path), "--live", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert [f for f in out["findings"] if f["check"] == "map.live-schema"] == []


def test_introspect_command_writes_a_loadable_map(tmp_path: Path, sqlite_url: str) -> None:
    create_demo_db(sqlite_url, "plus", customers=2)
    out = tmp_path / "datamap.yaml"
    assert (
        main(
            [
                "datamap",
                "introspect",
                sqlite_url,
                "-o",
                str(out),
                "--dataset",
                "plus",
                "--connection",
                "plus_app",
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "guess: true" in text
    assert "://" not in text.split("\n", 3)[-1]
    dm = load_datamap(out).datamap
    assert dm.dataset("plus").connection == "plus_app"
    assert dm.resolve("plus", "sessions", "device_id").references[0].field == "plus.devices.id"


def test_introspect_by_connection_name(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_demo_db(sqlite_url, "mydigisoft", customers=1)
    monkeypatch.setenv("TROTH_CONN_SHOP_DB", sqlite_url)
    assert main(["datamap", "introspect", "shop_db"]) == 0
    assert "connection: shop_db" in capsys.readouterr().out
    assert main(["datamap", "introspect", "unknown_db"]) == 2


def test_fides_commands_round_trip(tmp_path: Path) -> None:
    fides = tmp_path / "fides.yaml"
    assert main(["datamap", "export-fides", str(SHOP), "-o", str(fides)]) == 0
    assert "fides_key: app" in fides.read_text()
    back = tmp_path / "datamap.yaml"
    assert main(["datamap", "import-fides", str(fides), "-o", str(back)]) == 0
    assert load_datamap(back).datamap.resolve("app", "customers", "email").identity == "email"


def test_troth_check_runs_map_checks_when_the_folder_has_a_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SHOP / "policy.yaml", tmp_path / "policy.yaml")
    text = (SHOP / "datamap.yaml").read_text()
    (tmp_path / "datamap.yaml").write_text(
        text.replace("categories: user.name", "categories: [user.name, user.demographic.gender]")
    )
    main(["check", str(tmp_path), "--format", "json", "--select", "map.uncollected-category"])
    out = json.loads(capsys.readouterr().out)
    assert out["datamap"].endswith("datamap.yaml")
    (finding,) = out["findings"]
    assert "user.demographic.gender" in finding["message"]
    assert finding["where"].startswith(str(tmp_path / "datamap.yaml"))

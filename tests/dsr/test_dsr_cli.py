"""``troth dsr ...`` end to end on SQLite: plan prints SQL without values and touches nothing;
erase, status and the unknown-identity case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.cli import main
from troth.datamap.demo import create_demo_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mydigisoft"


@pytest.fixture
def shop(sqlite_url: str, troth_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    create_demo_db(sqlite_url, "mydigisoft", customers=10)
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", sqlite_url)
    return sqlite_url


def test_plan_json_has_steps_order_and_sql_without_values(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TROTH_CONN_MYDIGISOFT_SHOP", raising=False)  # no store needed
    code = main(
        ["dsr", "plan", str(EXAMPLE), "--email", "ada@example.com", "--type", "erase", "--json"]
    )
    out = capsys.readouterr().out
    assert code == 0
    plan = json.loads(out)
    assert plan["steps"][0]["table"] == "shop.customers"
    # parents last; the country list is only referred to (`kind: refers`): never reached
    assert [a["table"] for a in plan["erase"]][-1] == "shop.customers"
    assert "shop.countries" not in [s["table"] for s in plan["steps"]]
    assert "ada@example.com" not in out


def test_erase_then_status(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dsr", "erase", str(EXAMPLE), "--email", "customer3@example.com", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "completed"
    engine = sa.create_engine(shop)
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT phone FROM customers WHERE id = 3").scalar() is None
    engine.dispose()
    assert main(["dsr", "status", "--json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["status"] == "completed"
    assert info["kind"] == "erasure"


def test_unknown_identity_is_an_empty_result(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dsr", "access", str(EXAMPLE), "--email", "nobody@example.com", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"


def test_unknown_identity_name_is_an_error_naming_the_valid_ones(
    shop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dsr", "plan", str(EXAMPLE), "--identity", "passport=X1"]) == 2
    assert "use one of: email, phone" in capsys.readouterr().err

"""`troth dsr plan` lists the key stores, file sets and services a request reaches (a dry-run
plan; no store is opened: no connection is configured here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from troth.cli import main

from .test_files import FILESET
from .test_redis import KEYSTORE

ROOT = Path(__file__).resolve().parents[2]


def test_plan_lists_other_stores(
    tmp_path: Path, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plus"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "plus" / "policy.yaml", folder / "policy.yaml")
    datamap = yaml.safe_load((ROOT / "examples" / "plus" / "datamap.yaml").read_text())
    datamap["keystores"] = [KEYSTORE]
    datamap["filesets"] = [FILESET]
    datamap["services"] = [yaml.safe_load((ROOT / "examples/services/stripe.yaml").read_text())]
    (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap, sort_keys=False))
    assert main(["dsr", "plan", str(folder), "--email", "x@example.com", "--json"]) == 0
    others = {o["table"]: o for o in json.loads(capsys.readouterr().out)["other_stores"]}
    assert others["cache.sessions"]["found_by"] == "SCAN MATCH session:{email}:*"
    assert others["cache.profiles"]["fields"] == ["name: redact", "ip: null", "phone: hash"]
    assert others["lake.orders"]["erase"] == "delete_row"
    assert others["stripe.customers"]["erase"] == "DELETE /v1/customers/{id}"
    assert all(o["reached"] for o in others.values())
    assert main(["dsr", "plan", str(folder), "--phone", "+1 555 0100"]) == 0
    text = capsys.readouterr().out
    assert "Other stores" in text
    assert "no (identity not given)" in text

"""`troth check` sees the key stores, file sets and services of the data map too (MD-12: Google
data must not be stored, not even in a cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from troth.datamap.loader import load_datamap
from troth.policy.checks import Finding, run_checks
from troth.policy.loader import load_policy

MD = Path(__file__).resolve().parents[2] / "examples" / "mydigisoft"


def _findings(tmp_path: Path, extra: dict[str, Any], check: str) -> list[Finding]:
    doc = load_policy(MD / "policy.yaml")
    data = yaml.safe_load((MD / "datamap.yaml").read_text())
    data.update(extra)
    path = tmp_path / "datamap.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    dm = load_datamap(path, doc.taxonomy, check_categories=False)
    return run_checks(doc, select=[check], datamap=dm).findings


def test_md_12_google_data_in_a_redis_cache_is_reported(tmp_path: Path) -> None:
    keystores = [{"name": "cache", "connection": "shop_cache", "keys": [
        {"name": "gmail", "pattern": "gmail:{email}:*",
         "categories": ["user.content.private.email_message"]}]}]  # fmt: skip
    [f] = _findings(tmp_path, {"keystores": keystores}, "map.restricted-stored")
    assert "cache.gmail stores 'user.content.private.email_message'" in f.message
    assert "datamap.yaml:" in (f.where or "")


def test_uncollected_and_undeclared_categories_in_files_and_services(tmp_path: Path) -> None:
    filesets = [{"name": "lake", "connection": "shop_lake", "tables": [
        {"name": "exports", "path": "*.csv", "format": "csv", "fields": [
            {"name": "email", "identity": "email", "categories": ["user.contact.email"]},
            {"name": "ip", "categories": ["user.device.ip_address"]}]}]}]  # fmt: skip
    found = _findings(tmp_path, {"filesets": filesets}, "map.uncollected-category")
    [f] = [f for f in found if f.message.startswith("lake.")]
    assert f.message.startswith("lake.exports.ip holds 'user.device.ip_address'")
    services = [{"name": "crm", "connection": "crm", "resources": [
        {"name": "people", "identity": "email", "categories": ["user.contact.emial"],
         "find": {"path": "/people", "params": {"q": "{email}"}}}]}]  # fmt: skip
    found = _findings(tmp_path, {"services": services}, "map.undeclared-category")
    [f] = [f for f in found if "emial" in f.message]
    assert "'user.contact.emial' is not a taxonomy key" in f.message


def test_a_service_resource_without_erase_is_an_erasure_error(tmp_path: Path) -> None:
    services = [{"name": "crm", "connection": "crm", "resources": [
        {"name": "people", "identity": "email", "categories": ["user.contact.email"],
         "find": {"path": "/people", "params": {"q": "{email}"}}}]}]  # fmt: skip
    [f] = _findings(tmp_path, {"services": services}, "map.no-erasure-action")
    assert "crm.people declares no erase request" in f.message
    assert f.fix is not None
    assert "erase:" in f.fix
    services[0]["resources"][0]["erase"] = {"method": "DELETE", "path": "/people/{id}"}
    assert _findings(tmp_path, {"services": services}, "map.no-erasure-action") == []

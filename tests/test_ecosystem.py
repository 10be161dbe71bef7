"""What ties troth into editors and CI: JSON Schemas, SARIF, the pre-commit hook."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from troth.cli import main
from troth.schemas import NAMES, generate, shipped

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_schemas_are_the_models(name: str) -> None:
    """Regenerate with `python -m troth.schemas` after changing a model."""
    assert json.loads(shipped(name)) == json.loads(json.dumps(generate(name), sort_keys=True))


@pytest.mark.parametrize("example", ["mydigisoft", "plus"])
@pytest.mark.parametrize("name", NAMES)
def test_examples_are_valid_and_a_wrong_shape_is_not(name: str, example: str) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(shipped(name)))
    data = yaml.safe_load((ROOT / "examples" / example / f"{name}.yaml").read_text())
    assert list(validator.iter_errors(data)) == []
    data["no_such_key"] = 1
    assert list(validator.iter_errors(data))


def test_schema_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "policy", "-o", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text()) == json.loads(shipped("policy"))
    assert main(["schema", "nope"]) == 2
    assert "use one of: datamap, policy" in capsys.readouterr().err


def test_sarif_has_a_result_per_finding_at_its_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "examples/plus", "-f", "json"]) == 1
    plain = json.loads(capsys.readouterr().out)
    assert main(["check", "examples/plus", "-f", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert len(results) == len(plain["findings"])
    for finding, result in zip(plain["findings"], results, strict=True):
        assert result["ruleId"] == finding["check"]
        assert rules[result["ruleIndex"]] == finding["check"]
        assert (
            result["level"]
            == {"error": "error", "warning": "warning", "info": "note"}[finding["severity"]]
        )
        path, line = finding["where"].split(":")[:2]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == path
        assert loc["region"]["startLine"] == int(line)


def test_pre_commit_hook_runs_troth_check() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["entry"] == "troth check"
    import re

    assert re.search(hook["files"], "examples/plus/policy.yaml")
    assert re.search(hook["files"], "datamap.yml")
    assert not re.search(hook["files"], "README.md")

"""``troth check --format sarif``: findings as SARIF 2.1.0, for code scanning in CI.

Each check is a rule (its id, title and default level); each finding a result at the file, line
and column its ``where`` names (``path:line:col``), paths relative to the working directory so a
CI service can annotate the diff.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from troth import __version__
from troth.policy.checks import CHECKS, Finding, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}
_WHERE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def _location(where: str, fallback: str) -> dict[str, Any]:
    m = _WHERE.match(where)
    path, region = (m["path"], {"startLine": int(m["line"])}) if m else (fallback, None)
    if m and m["col"]:
        assert region is not None
        region["startColumn"] = int(m["col"])
    try:
        uri = Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        uri = Path(path).resolve().as_uri()
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if region:
        physical["region"] = region
    return {"physicalLocation": physical}


def to_sarif(findings: list[Finding], policy_path: str) -> dict[str, Any]:
    """The SARIF log of one ``troth check`` run."""
    used = sorted({f.check for f in findings})
    rules = []
    for check_id in used:
        chk = CHECKS.get(check_id) if check_id in CHECKS else None
        rules.append(
            {
                "id": check_id,
                "shortDescription": {"text": chk.title if chk else check_id},
                "defaultConfiguration": {"level": _LEVEL[chk.severity] if chk else "error"},
            }
        )
    results = []
    for f in findings:
        text = f.message.rstrip(".") + (f". Fix: {f.fix}" if f.fix else "")
        result: dict[str, Any] = {
            "ruleId": f.check,
            "ruleIndex": used.index(f.check),
            "level": _LEVEL[f.severity],
            "message": {"text": text},
            "locations": [_location(f.where, policy_path)],
        }
        if f.promises:
            result["properties"] = {"promises": list(f.promises)}
        results.append(result)
    driver = {"name": "troth", "version": __version__, "rules": rules}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }

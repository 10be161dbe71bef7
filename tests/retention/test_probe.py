"""The retention conformance probe of `troth prove --live` (PL-11): expired rows outside a hold
fail it, a sweep makes it pass; it changes nothing itself."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from tests.retention.conftest import KEY, rows

from troth.project import Project
from troth.prove.probes import retention_probes
from troth.retention import Sweeper, open_stores


def test_expired_rows_fail_the_probe_until_swept(
    sqlite_shop: str, state: sa.Engine, project: Project, tmp_path: Path
) -> None:
    before = rows(sqlite_shop, "SELECT * FROM customers ORDER BY id")
    failed = retention_probes(project, KEY, None)
    assert failed
    assert any(p.passed is False and "expired row(s) outside a hold" in p.reason for p in failed)
    assert rows(sqlite_shop, "SELECT * FROM customers ORDER BY id") == before  # read only
    with open_stores() as stores:
        Sweeper(project, stores, state, key=KEY).run()  # type: ignore[arg-type]
    passed = retention_probes(project, KEY, None)
    assert all(p.passed is not False for p in passed), [p.reason for p in passed]
    assert any(p.passed for p in passed)

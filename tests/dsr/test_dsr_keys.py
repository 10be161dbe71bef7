"""Erasure's key set read column-wise (``select_columns``) equals the one read row by row."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from troth.connectors.base import ColumnReader, Row
from troth.connectors.match import Rows
from troth.connectors.sql import SqlConnector
from troth.dsr import Identity, build_plan
from troth.dsr.resolve import resolve
from troth.dsr.stores import Stores
from troth.project import load_project


class RowsOnly:
    """The connector without ``select_columns``: resolve falls back to whole rows."""

    def __init__(self, inner: SqlConnector) -> None:
        self.inner = inner

    def select_rows(
        self, table: str, rows: Rows, columns: Sequence[str] | None = None
    ) -> Iterator[Row]:
        return self.inner.select_rows(table, rows, columns)


def _keys(project_dir: Path, stores: Stores, email: str) -> tuple[dict[str, Any], dict[str, int]]:
    project = load_project(project_dir)
    assert project.datamap is not None
    plan = build_plan(project.datamap.datamap, ["email"], "erase")
    res = resolve(plan, stores, [Identity("email", email)], datamap=project.datamap.datamap)
    keys = {
        f"{tid}.{','.join(e.columns)}": sorted(e.values, key=repr)
        for tid, entries in res.keys.items()
        for e in entries
    }
    return keys, {str(t): n for t, n in res.counts.items()}


def test_columnwise_key_set_equals_the_row_by_row_one(mydigisoft: Path) -> None:
    conn = SqlConnector(os.environ["TROTH_CONN_MYDIGISOFT_SHOP"], "mydigisoft_shop")
    assert isinstance(conn, ColumnReader)
    rows_only = RowsOnly(conn)
    assert not isinstance(rows_only, ColumnReader)
    for email in ("customer7@example.com", "customer8@example.com", "nobody@example.com"):
        fast = _keys(mydigisoft, Stores(connectors={"mydigisoft_shop": conn}), email)
        slow = _keys(mydigisoft, Stores(connectors={"mydigisoft_shop": rows_only}), email)  # type: ignore[dict-item]
        assert fast == slow
        if email != "nobody@example.com":
            assert sum(fast[1].values()) > 3
    conn.close()

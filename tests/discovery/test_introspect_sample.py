"""`troth datamap introspect --sample N`: the name-based proposal completed from sampled values
(SQLite, PostgreSQL, MariaDB); without --sample no row is read."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from troth.cli import main
from troth.connectors.base import connect

NOTES = [
    "Customer called about the invoice and asked us to call back tomorrow morning please",
    "Refund to card 4111 1111 1111 1111 approved by the team lead after the review today",
]


def _fill(url: str) -> None:
    conn = connect(url, "fill")
    try:
        with conn.engine.begin() as db:  # type: ignore[attr-defined]
            db.exec_driver_sql(
                "CREATE TABLE customers (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(255), "
                "contact VARCHAR(255), notes TEXT, plan VARCHAR(20))"
            )
            db.execute(
                sa.text("INSERT INTO customers VALUES (:i, :e, :c, :n, :p)"),
                [
                    {
                        "i": i,
                        "e": f"c{i}@example.com",
                        "c": f"other{i}@example.org",
                        "n": NOTES[i % 2],
                        "p": "basic",
                    }
                    for i in range(1, 41)
                ],
            )
    finally:
        conn.close()


def _fields(path: Path) -> dict[str, dict[str, object]]:
    dm = yaml.safe_load(path.read_text())
    table = dm["systems"][0]["datasets"][0]["tables"][0]
    return {f["name"]: f for f in table["fields"]}


@pytest.mark.parametrize("engine", ["sqlite", "postgres", "mysql"])
def test_sampled_values_complete_the_name_guesses(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url",
                                       "mysql": "mysql_url"}[engine]))  # fmt: skip
    _fill(url)
    names_only, sampled = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert main(["datamap", "introspect", url, "-o", str(names_only)]) == 0
    assert main(["datamap", "introspect", url, "-o", str(sampled), "--sample", "20"]) == 0
    before, after = _fields(names_only), _fields(sampled)
    assert "categories" not in before["contact"]
    assert after["contact"]["categories"] == ["user.contact.email"]
    assert after["contact"]["guess"] is True
    assert "EMAIL_ADDRESS in 20" in str(after["contact"]["description"])
    assert after["notes"]["categories"] == ["user.content.private", "user.financial.credit_card"]
    assert after["email"] == before["email"]  # the name's guess and identity stay
    assert "categories" not in after["plan"]
    text = sampled.read_text()
    assert "example.org" not in text
    assert "4111" not in text

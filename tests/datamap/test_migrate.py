"""`troth datamap migrate`: reference directions become kinds, comments and layout kept."""

from __future__ import annotations

from pathlib import Path

from troth.cli import main
from troth.datamap.loader import load_datamap
from troth.datamap.migrate import migrate_text

OLD = """\
troth: 1
kind: datamap
systems:
  - name: s
    datasets:
      - name: app
        connection: app
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - name: country   # the country list is not the person's
                references: [{field: countries.code, direction: to}]
          - name: countries
            fields:
              - {name: code, primary_key: true}
          - name: orders
            fields:
              - name: customer_id
                references: [{field: customers.id, direction: "from"}]
              - name: referrer_id
                references:
                  - field: customers.id
                    note: who referred the order
"""


def test_migrate_text_maps_each_direction_and_reports_lines() -> None:
    new, changes = migrate_text(OLD)
    assert [c.line for c in changes] == [13, 20, 23]
    assert "references: [{field: countries.code, kind: refers}]" in new
    assert "references: [{field: customers.id, kind: owns}]" in new
    assert "# the country list is not the person's" in new
    assert "                  - field: customers.id\n                    kind: refers\n" in new
    assert migrate_text(new)[1] == []  # idempotent


def test_migrate_command_rewrites_the_file_so_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "datamap.yaml"
    path.write_text(OLD)
    assert main(["datamap", "migrate", str(tmp_path), "--dry-run"]) == 0
    assert path.read_text() == OLD
    assert main(["datamap", "migrate", str(path)]) == 0
    dm = load_datamap(path).datamap
    assert dm.resolve("app", "orders", "customer_id").references[0].kind.value == "owns"

"""Fides dataset import and export, and their round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dm_helpers import FIXTURES, SHOP

from troth.datamap.fides import fides_type, from_fides, to_fides
from troth.datamap.loader import load_datamap
from troth.datamap.model import EraseAction, RefKind
from troth.datamap.yamlout import dump_datamap
from troth.errors import DataMapError
from troth.policy.yamlsrc import read_yaml

FIDES = FIXTURES / "fides" / "dataset.yml"


def test_import_reads_identities_references_keys_and_nested_fields(tmp_path: Path) -> None:
    data, smap = read_yaml(FIDES)
    dm = from_fides(data, smap, system="shop")
    out = tmp_path / "datamap.yaml"
    out.write_text(dump_datamap(dm))
    loaded = load_datamap(out).datamap  # valid troth input
    assert loaded.dataset("postgres_shop").connection == "postgres_shop"
    email = loaded.resolve("postgres_shop", "customer", "email")
    assert email.identity == "email"
    assert email.categories == ["user.contact.email"]
    assert loaded.resolve("postgres_shop", "customer", "id").primary_key
    ref = loaded.resolve("postgres_shop", "orders", "customer_id").references[0]
    assert ref.field == "postgres_shop.customer.id"
    assert ref.kind is RefKind.owns
    assert loaded.resolve("postgres_shop", "orders").erase is EraseAction.delete_row
    assert loaded.resolve("postgres_shop", "orders", "shipping_street") is not None
    events = loaded.resolve("mongo_events", "events", "customer_email").references[0]
    assert events.kind is RefKind.refers  # Fides: both ways; troth follows it only when told


def test_fides_round_trip_is_stable() -> None:
    data, _ = read_yaml(FIDES)
    once = to_fides(from_fides(data))
    twice = to_fides(from_fides(once))
    assert once == twice
    assert once["dataset"][0]["collections"][1]["fides_meta"] == {
        "masking_strategy_override": {"strategy": "delete"}
    }
    customer_id = once["dataset"][0]["collections"][1]["fields"][0]
    assert customer_id["fides_meta"]["references"] == [
        {"dataset": "postgres_shop", "field": "customer.id", "direction": "from"}
    ]


def test_troth_map_round_trips_through_fides() -> None:
    dm = load_datamap(SHOP).datamap
    back = from_fides(
        yaml.safe_load(yaml.safe_dump(to_fides(dm))), system="shop", connections={"app": "shop_db"}
    )
    for ds, table, f in dm.fields():
        g = back.resolve(ds.name, table.name, f.name)
        assert (g.categories, g.identity, g.primary_key) == (
            f.categories,
            f.identity,
            f.primary_key,
        )
        assert [r.target(ds.name) for r in g.references] == [
            r.target(ds.name) for r in f.references
        ]
    assert back.resolve("app", "orders").erase is EraseAction.delete_row
    assert back.dataset("app").connection == "shop_db"


def test_not_a_fides_file_is_rejected() -> None:
    with pytest.raises(DataMapError, match="not a Fides dataset file"):
        from_fides({"systems": []})


@pytest.mark.parametrize(
    ("sql", "fides"),
    [
        ("varchar(255)", "string"),
        ("integer", "integer"),
        ("decimal(10, 2)", "float"),
        ("timestamp", "string"),
        ("boolean", "boolean"),
        ("string", "string"),
    ],
)
def test_sql_types_map_to_fides_types(sql: str, fides: str) -> None:
    assert fides_type(sql) == fides

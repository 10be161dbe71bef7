"""The data map loader: valid maps load; every problem is located, with a fix."""

from __future__ import annotations

import pytest
from dm_helpers import SHOP, load_text, one_dataset, shop_policy

from troth.datamap.loader import load_datamap
from troth.datamap.model import Direction, EraseAction, MaskStrategy
from troth.errors import PolicyLoadError


def test_fixture_map_loads_with_the_policy_taxonomy() -> None:
    dm = load_datamap(SHOP, shop_policy().taxonomy)
    customers = dm.datamap.resolve("app", "customers")
    assert customers is not None
    email = customers.field("email")
    assert email.categories == ["user.contact.email"]  # a single key becomes a list
    assert email.identity == "email"
    # YAML `mask: null` names the null strategy, not "no mask"
    assert customers.field("phone").mask is MaskStrategy.null
    assert customers.field("first_name").mask is MaskStrategy.redact
    assert customers.field("id").mask is None
    orders = dm.datamap.resolve("app", "orders")
    assert orders.erase is EraseAction.delete_row
    assert orders.legal_holds[0].id == "invoices"
    ref = orders.field("customer_id").references[0]
    assert ref.direction is Direction.from_
    assert ref.target("app") == ("app", "customers", "id")
    assert dm.where(orders.field("total")).endswith("datamap.yaml:39:17")


def test_unknown_key_is_located_with_did_you_mean() -> None:
    text = one_dataset(
        """\
        - name: customers
          fields:
            - name: email
              categoires: [user.contact.email]
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    line = err.value.lines()[0]
    assert "datamap.yaml:10:17" in line
    assert "unknown key 'categoires'" in line
    assert "did you mean 'categories'" in line
    assert "valid keys here:" in line


def test_unknown_category_names_the_nearest_keys() -> None:
    text = one_dataset(
        """\
        - name: customers
          fields:
            - name: email
              categories: [user.contact.emial]
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    line = err.value.lines()[0]
    assert "datamap.yaml:10:30" in line
    assert "unknown data category 'user.contact.emial'" in line
    assert "use a valid key such as user.contact.email" in line


def test_policy_taxonomy_extensions_are_valid_categories() -> None:
    text = one_dataset(
        """\
        - name: chats
          fields:
            - name: body
              categories: [user.behavior.chat_history]
        """
    )
    with pytest.raises(PolicyLoadError):
        load_text(text)
    taxonomy = shop_policy().taxonomy
    taxonomy.extend("data_categories", "user.behavior.chat_history", "Chat history")
    assert load_text(text, taxonomy).datamap.resolve("app", "chats", "body") is not None
    # without category checking the loader leaves unknown keys to `map.undeclared-category`
    assert load_text(text, check_categories=False).datamap


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://app:s3cret-pw@db.example.com/shop",
        "mysql+pymysql://root:hunter22@127.0.0.1/shop",
    ],
)
def test_connection_url_with_credentials_is_rejected_without_echoing_it(value: str) -> None:
    text = one_dataset("- name: customers\n").replace("shop_db", value)
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    line = err.value.lines()[0]
    assert "datamap.yaml:5:21" in line
    assert "credentials in clear text" in line
    assert "TROTH_CONN_" in line
    assert "s3cret" not in line
    assert "hunter22" not in line
    assert "s3cret" not in str(err.value)
    assert "hunter22" not in str(err.value)


def test_connection_url_without_credentials_is_rejected_too() -> None:
    text = one_dataset("- name: customers\n").replace("shop_db", "sqlite:///shop.db")
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    assert "connection must be a name, not a URL" in err.value.lines()[0]


def test_duplicate_names_are_located() -> None:
    text = one_dataset(
        """\
        - name: customers
          fields:
            - name: email
            - name: email
        - name: customers
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    lines = err.value.lines()
    assert any("duplicate table 'customers' (first defined at line 7)" in x for x in lines)
    assert any("datamap.yaml:10:23: duplicate field 'email'" in x for x in lines)


def test_bad_mask_strategy_lists_the_valid_ones() -> None:
    text = one_dataset(
        """\
        - name: customers
          fields:
            - name: email
              mask: hsh
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    line = err.value.lines()[0]
    assert "'hsh' is not valid" in line
    assert "did you mean 'hash'" in line
    assert "use one of: null, redact, hash, fake" in line


def test_a_map_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(Exception, match="must be a YAML mapping"):
        load_text("- just a list\n")

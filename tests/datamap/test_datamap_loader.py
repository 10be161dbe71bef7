"""The data map loader: valid maps load; every problem is located, with a fix."""

from __future__ import annotations

import pytest
from dm_helpers import SHOP, load_text, one_dataset, shop_policy

from troth.datamap.loader import load_datamap
from troth.datamap.model import EraseAction, MaskStrategy, RefKind
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
    assert ref.kind is RefKind.owns
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


def test_old_direction_key_names_the_migration() -> None:
    text = one_dataset(
        """\
        - name: customers
          fields:
            - {name: id, primary_key: true}
        - name: orders
          fields:
            - name: customer_id
              references: [{field: customers.id, direction: from}]
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    line = err.value.lines()[0]
    assert "`direction` was replaced by `kind`" in line
    assert "troth datamap migrate" in line
    assert "datamap.yaml:13:" in line  # located at the reference


def test_new_keys_load_kinds_scope_identities_json_holds_and_conditions() -> None:
    text = one_dataset(
        """\
        - name: tickets
          label: Support tickets
          scope: {tenant: tenant_id}
          retention:
            - where: {status: [closed, resolved], deleted: null}
          legal_holds:
            - {id: disputes, reason: open disputes, for: 2 years since closed_at}
          fields:
            - {name: id, primary_key: true}
            - {name: tenant_id, references: [{field: tenants.id}]}
            - {name: status}
            - {name: deleted}
            - {name: closed_at}
            - name: meta
              json:
                - {path: "cc[]", identity: email, categories: [user.contact.email]}
                - {path: customer.phone, categories: [user.contact.phone_number], mask: null}
        - name: tenants
          fields:
            - {name: id, primary_key: true}
        """
    )
    dm = load_text(text).datamap
    t = dm.resolve("app", "tickets")
    assert t.label == "Support tickets"
    assert t.scope == {"tenant": "tenant_id"}
    assert t.retention[0].where == {"status": ["closed", "resolved"], "deleted": None}
    period, column = t.legal_holds[0].ends()
    assert (str(period), column) == ("2 years", "closed_at")
    assert t.field("tenant_id").references[0].kind is RefKind.refers  # the default
    cc, phone = t.field("meta").json_paths
    assert cc.is_array
    assert cc.keys == ("cc",)
    assert cc.identity == "email"
    assert not phone.is_array
    assert phone.keys == ("customer", "phone")
    assert phone.mask is MaskStrategy.null
    assert dm.identity_spec("email").kind.value == "email"
    assert dm.identity_spec("customer_no").kind.value == "exact"


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("{id: h, reason: r, for: 10 yeras since issued_at}", "10 yeras"),
        ("{id: h, reason: r, for: 10 years}", "'<period> since <column>'"),
    ],
)
def test_hold_for_is_validated(snippet: str, expected: str) -> None:
    text = one_dataset(
        f"""\
        - name: invoices
          legal_holds:
            - {snippet}
          fields:
            - {{name: id, primary_key: true}}
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    assert expected in err.value.lines()[0]


def test_bad_json_path_is_located() -> None:
    text = one_dataset(
        """\
        - name: tickets
          fields:
            - name: meta
              json:
                - {path: "cc[0].x"}
        """
    )
    with pytest.raises(PolicyLoadError) as err:
        load_text(text)
    assert "meta" in err.value.lines()[0] or "path" in err.value.lines()[0]

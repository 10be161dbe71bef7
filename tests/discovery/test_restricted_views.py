"""Purpose views leave out restricted-source fields (Google user data under Limited Use) for every
purpose the source does not allow, even when the purpose's categories would cover them."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from troth.consent.views import plan_views, restricted_categories
from troth.datamap.loader import load_datamap
from troth.policy.loader import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MAP = """\
troth: 1
kind: datamap
systems:
  - name: shop
    datasets:
      - name: shop
        connection: shop_db
        tables:
          - name: customers
            fields:
              - {name: id, primary_key: true}
              - {name: email, categories: [user.contact.email], identity: email}
              - {name: last_mail_subject, categories: [user.content.private.email_message]}
"""


def _policy(tmp_path: Path, categories: str) -> Path:
    shutil.copy(EXAMPLES / "mydigisoft" / "policy.yaml", tmp_path / "policy.yaml")
    path = tmp_path / "policy.yaml"
    text = path.read_text()
    old = "    consents: [marketing_email]\n    categories: [user.contact.email]\n"
    assert old in text
    path.write_text(
        text.replace(old, f"    consents: [marketing_email]\n    categories: {categories}\n")
    )
    return path


def test_marketing_view_never_shows_gmail_data_even_when_its_categories_cover_it(
    tmp_path: Path,
) -> None:
    doc = load_policy(_policy(tmp_path, "[user.contact.email, user.content.private]"))
    policy = doc.policy
    dm = load_datamap("datamap.yaml", doc.taxonomy, text=textwrap.dedent(MAP))
    views = {(v.purpose, v.table): v for v in plan_views(policy, dm.datamap, "sqlite")}
    marketing = views["marketing_email", "customers"]
    assert "last_mail_subject" not in marketing.columns
    assert "last_mail_subject" not in marketing.sql
    assert "email" in marketing.columns
    google = views["google_user_request", "customers"]
    assert "last_mail_subject" in google.columns


def test_restricted_categories_by_purpose(tmp_path: Path) -> None:
    policy = load_policy(EXAMPLES / "mydigisoft").policy
    by_id = {p.id: p for p in policy.purposes}
    google = restricted_categories(policy, by_id["google_user_request"])
    assert google == []
    marketing = restricted_categories(policy, by_id["marketing_email"])
    assert "user.content.private.email_message" in marketing
    assert "user.contact.address_book" in marketing


def test_run_for_purpose_refuses_restricted_fields_outside_limited_use(tmp_path: Path) -> None:
    import pytest
    import sqlalchemy as sa

    from troth.consent.views import run_for_purpose
    from troth.errors import PurposeDeniedError

    doc = load_policy(_policy(tmp_path, "[user.contact.email, user.content.private]"))
    dm = load_datamap("datamap.yaml", doc.taxonomy, text=textwrap.dedent(MAP))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, last_mail_subject TEXT)"
        )
        conn.exec_driver_sql("INSERT INTO customers VALUES (1, 'a@example.com', 'Lunch?')")
        t = sa.table(
            "customers", sa.column("id"), sa.column("email"), sa.column("last_mail_subject")
        )
        kw = {"policy": doc.policy, "datamap": dm.datamap}
        ok = run_for_purpose(conn, "marketing_email", sa.select(t.c.id, t.c.email), **kw)
        assert ok.all() == [(1, "a@example.com")]
        with pytest.raises(PurposeDeniedError, match="restricted-source data"):
            run_for_purpose(conn, "marketing_email", sa.select(t.c.last_mail_subject), **kw)
        got = run_for_purpose(conn, "google_user_request", sa.select(t.c.last_mail_subject), **kw)
        assert got.all() == [("Lunch?",)]
    engine.dispose()

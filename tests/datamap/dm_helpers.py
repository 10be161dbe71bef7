"""Helpers for data map tests: small maps written inline."""

from __future__ import annotations

import textwrap
from pathlib import Path

from troth.datamap.loader import DataMapDocument, load_datamap
from troth.policy.loader import PolicyDocument, load_policy
from troth.policy.taxonomy import Taxonomy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHOP = FIXTURES / "shop"


def shop_policy() -> PolicyDocument:
    return load_policy(SHOP)


def load_text(text: str, taxonomy: Taxonomy | None = None, **kw: bool) -> DataMapDocument:
    return load_datamap("datamap.yaml", taxonomy, text=textwrap.dedent(text), **kw)


def one_dataset(tables: str) -> str:
    """A map with one system and one dataset ``app`` holding the (indented) tables."""
    head = """\
    systems:
      - name: shop
        datasets:
          - name: app
            connection: shop_db
            tables:
    """
    return textwrap.dedent(head) + textwrap.indent(textwrap.dedent(tables), " " * 10)

"""Names a person reads in an access export: the map's ``label:``, else one made from the name.

``created_at`` -> "Created at", ``PostalCode`` -> "Postal code", ``customer_id`` -> "Customer ID",
``order_items`` -> "Order items".
"""

from __future__ import annotations

import re

from troth.datamap.graph import TableId
from troth.datamap.model import DataMap, MapField, Table

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_ACRONYMS = frozenset(
    {
        "id",
        "ip",
        "url",
        "uri",
        "sku",
        "vat",
        "iban",
        "bic",
        "uuid",
        "api",
        "sms",
        "os",
        "gps",
        "crm",
    }
)


def humanise(name: str) -> str:
    """A readable label from a column or table name (any case style)."""
    words = _WORDS.findall(name)
    if not words:
        return name
    out = []
    for i, word in enumerate(words):
        low = word.lower()
        if low in _ACRONYMS:
            out.append(low.upper())
        elif word.isupper() and len(word) > 1:
            out.append(word)  # an acronym the name already spells in capitals
        else:
            out.append(low.capitalize() if i == 0 else low)
    return " ".join(out)


def table_label(datamap: DataMap, table: TableId) -> str:
    mapped = _table(datamap, table)
    return mapped.label if mapped and mapped.label else humanise(table.table)


def column_label(datamap: DataMap, table: TableId, column: str) -> str:
    fld = _field(datamap, table, column)
    return fld.label if fld and fld.label else humanise(column)


def path_label(datamap: DataMap, table: TableId, column: str, path: str) -> str:
    """``Metadata: Cc`` for the JSON path ``cc[]`` of the column ``metadata``."""
    if not path:
        return column_label(datamap, table, column)
    fld = _field(datamap, table, column)
    found = next((p for p in fld.json_paths if p.path == path), None) if fld else None
    inner = found.label if found and found.label else humanise(path.removesuffix("[]"))
    return f"{column_label(datamap, table, column)}: {inner}"


def _table(datamap: DataMap, table: TableId) -> Table | None:
    found = datamap.resolve(table.dataset, table.table)
    return found if isinstance(found, Table) else None


def _field(datamap: DataMap, table: TableId, column: str) -> MapField | None:
    found = datamap.resolve(table.dataset, table.table, column)
    return found if isinstance(found, MapField) else None

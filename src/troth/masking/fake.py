"""``fake``: a format-preserving stand-in derived from the keyed hash.

E-mail addresses stay e-mail addresses (``erased-<12 hex>@example.invalid``), names stay names
(``Erased <6 hex>``), phone numbers become the fictional ``+1-555-0100``, addresses ``erased``;
anything else ``erased-<12 hex>``. Derived from the HMAC, so the same value fakes the same way
everywhere and joins keep working.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from troth.masking.base import MASKING, MaskContext, fit, fit_py, hmac_hex
from troth.masking.hash import hmac_sql
from troth.policy.taxonomy import covers

PHONE = "+1-555-0100"


def _shape(category: str | None) -> tuple[str, int, str]:
    """(prefix, hex digits, suffix) for a category; digits 0 means a constant prefix."""
    cat = category or ""
    if covers("user.contact.email", cat):
        return "erased-", 12, "@example.invalid"
    if covers("user.contact.phone_number", cat):
        return PHONE, 0, ""
    if covers("user.name", cat):
        return "Erased ", 6, ""
    if covers("user.contact.address", cat):
        return "erased", 0, ""
    return "erased-", 12, ""


def _concat(*parts: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "mysql":
        return sa.func.concat(*parts)
    out = parts[0]
    for p in parts[1:]:
        out = out.op("||")(p)
    return out


class FakeStrategy:
    name = "fake"
    deletes_row = False

    def sql(self, column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
        if not ctx.is_text:
            return sa.null()
        prefix, digits, suffix = _shape(ctx.category)
        parts: list[sa.ColumnElement[Any]] = [sa.literal(prefix, sa.String)]
        if digits:
            parts.append(sa.func.substr(hmac_sql(column, ctx), 1, digits))
        if suffix:
            parts.append(sa.literal(suffix, sa.String))
        value = _concat(*parts, dialect=ctx.dialect) if len(parts) > 1 else parts[0]
        return sa.case((column.is_(None), sa.null()), else_=fit(value, ctx))

    def python(self, value: object, ctx: MaskContext) -> object:
        if value is None or not ctx.is_text:
            return None
        prefix, digits, suffix = _shape(ctx.category)
        digest = hmac_hex(ctx.key, value) or ""
        return fit_py(prefix + digest[:digits] + suffix, ctx)


MASKING.add("fake", FakeStrategy())

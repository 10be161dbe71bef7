"""``hash``: a keyed HMAC-SHA256 of the value, hex.

The same value always masks to the same hash under the same key, so joins across tables still
work after erasure, while the value cannot be recovered or guessed without the key. The HMAC is
computed inside the database from its SHA-256 primitive (RFC 2104: H(k^opad || H(k^ipad || m))),
so an erasure stays one set-based UPDATE; SQLite gets a ``troth_hmac`` function registered on
each connection (:func:`install_sqlite_functions`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from troth.masking.base import MASKING, MaskContext, fit, fit_py, hmac_hex, hmac_pads


def hmac_sql(column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
    """HMAC-SHA256 hex of ``column``'s text, computed by the database (NULL stays NULL)."""
    ipad, opad = hmac_pads(ctx.key)
    if ctx.dialect == "postgresql":
        msg = sa.func.convert_to(sa.cast(column, sa.Text), "UTF8")
        inner = sa.func.sha256(sa.literal(ipad, sa.LargeBinary).op("||")(msg))
        outer = sa.func.sha256(sa.literal(opad, sa.LargeBinary).op("||")(inner))
        return sa.func.encode(outer, "hex")
    if ctx.dialect == "mysql":
        text = sa.cast(column, sa.String().with_variant(sa.String(), "mysql"))
        inner = sa.func.unhex(
            sa.func.sha2(sa.func.concat(sa.literal(ipad, sa.LargeBinary), text), 256)
        )
        outer = sa.func.sha2(sa.func.concat(sa.literal(opad, sa.LargeBinary), inner), 256)
        return sa.func.lower(sa.cast(outer, sa.String()))
    return sa.func.troth_hmac(sa.literal(ctx.key, sa.LargeBinary), column)


class HashStrategy:
    name = "hash"
    deletes_row = False

    def sql(self, column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
        if not ctx.is_text:
            return sa.null()
        return fit(hmac_sql(column, ctx), ctx)

    def python(self, value: object, ctx: MaskContext) -> object:
        if not ctx.is_text:
            return None
        return fit_py(hmac_hex(ctx.key, value), ctx)


def _sqlite_hmac(key: bytes | None, value: object) -> str | None:
    if key is None:
        return None
    return hmac_hex(bytes(key), value)


def install_sqlite_functions(engine: Engine) -> None:
    """Register ``troth_hmac(key, value)`` on every SQLite connection of ``engine``."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _register(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function("troth_hmac", 2, _sqlite_hmac, deterministic=True)


MASKING.add("hash", HashStrategy())

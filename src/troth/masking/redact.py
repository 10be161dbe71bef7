"""``redact``: text fields become a fixed text (``[redacted]``); other types become NULL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from troth.masking.base import MASKING, MaskContext, fit_py


class RedactStrategy:
    name = "redact"
    deletes_row = False

    def sql(self, column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
        if not ctx.is_text:
            return sa.null()
        text = fit_py(ctx.redact_text, ctx)
        # NULL stays NULL: there was nothing to redact
        return sa.case((column.is_(None), sa.null()), else_=sa.literal(text, sa.String))

    def python(self, value: object, ctx: MaskContext) -> object:
        if value is None or not ctx.is_text:
            return None
        return fit_py(ctx.redact_text, ctx)


MASKING.add("redact", RedactStrategy())

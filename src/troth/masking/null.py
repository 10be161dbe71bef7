"""``null``: the field becomes NULL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from troth.masking.base import MASKING, MaskContext


class NullStrategy:
    name = "null"
    deletes_row = False

    def sql(self, column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
        return sa.null()

    def python(self, value: object, ctx: MaskContext) -> object:
        return None


MASKING.add("null", NullStrategy())

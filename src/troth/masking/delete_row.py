"""``delete_row``: the whole row is deleted (a table-level action, done with one DELETE)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from troth.errors import RequestError
from troth.masking.base import MASKING, MaskContext


class DeleteRowStrategy:
    name = "delete_row"
    deletes_row = True

    def sql(self, column: sa.ColumnElement[Any], ctx: MaskContext) -> sa.ColumnElement[Any]:
        raise RequestError(
            "delete_row has no column value", fix="delete the rows instead of updating them"
        )

    def python(self, value: object, ctx: MaskContext) -> object:
        raise RequestError(
            "delete_row has no column value", fix="delete the rows instead of updating them"
        )


MASKING.add("delete_row", DeleteRowStrategy())

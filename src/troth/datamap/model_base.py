"""The data map model's shared parts: names, the enumerations, the common :class:`Node`.

See :mod:`troth.datamap.model`, the one place to import the data map model from.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$", max_length=128)]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
#: ``dataset.table.field`` or, within the same dataset, ``table.field``
RefTarget = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){1,2}$", max_length=400),
]

JSON_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\[\])?$"


def as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def mask_none_is_null(data: Any) -> Any:
    # YAML reads `mask: null` as a null value: it names the null strategy, not "no mask"
    if isinstance(data, dict) and "mask" in data and data["mask"] is None:
        return {**data, "mask": "null"}
    return data


class MaskStrategy(StrEnum):
    """How a field is erased when its row is kept (``delete_row`` is a table-level action)."""

    null = "null"
    redact = "redact"
    hash = "hash"
    fake = "fake"


class EraseAction(StrEnum):
    """What erasure does to a table's rows: mask the fields, or delete the rows."""

    mask = "mask"
    delete_row = "delete_row"


class RefKind(StrEnum):
    """What a reference means for a data-subject request (which way, if any, it is followed).

    Declared on the referencing field (``orders.customer_id -> customers.id``):

    ``owns``         this row belongs to the person of the referenced row: a request that reaches
                     the referenced row follows to this row (parent to child), and on from here;
    ``link``         this row is a many-to-many link: reached from the referenced row, it is erased
                     whole (deleted), and the request never walks past it to the other side;
    ``same_person``  one-to-one: both rows are about the same person; followed both ways;
    ``refers``       a plain reference (a tenant, an employee, a lookup table, merged-into):
                     never followed; only kept foreign-key safe. The default.
    """

    owns = "owns"
    link = "link"
    same_person = "same_person"
    refers = "refers"


class IdentityKind(StrEnum):
    """How an identity's values are normalised before they are matched."""

    email = "email"
    phone = "phone"
    exact = "exact"


class Match(StrEnum):
    """How an identity column is compared with a request's (normalised) value.

    ``normalise``: the column's values are normalised in the query too (the same rows on every
    engine and collation; an expression index makes it fast); ``stored``: the column already holds
    normalised values, compared as they are (a plain index serves it).
    """

    normalise = "normalise"
    stored = "stored"


class Node(BaseModel):
    """Common configuration of the data map elements."""

    # defer_build: a class's validator is built when first used, not at import; a process
    # builds the one it validates with (the policy's or the map's), not one per class
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    _path: tuple[str | int, ...] = PrivateAttr(default=())


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@", re.IGNORECASE)


class Connected(Node):
    """What every store of the map has: a name, the name of its connection (the URL stays in
    the environment, ``TROTH_CONN_<NAME>``) and a description."""

    name: Id
    connection: str = Field(min_length=1, max_length=80)
    description: str | None = None

    @field_validator("connection")
    @classmethod
    def _name_not_url(cls, value: str) -> str:
        # never echo the value: it may carry a password
        if _CREDENTIALS.match(value):
            raise ValueError(
                "connection holds a URL with credentials in clear text; name a connection "
                "instead and set TROTH_CONN_<NAME> in the environment (then rotate that password)"
            )
        if _URL.match(value):
            raise ValueError(
                "connection must be a name, not a URL; set the URL in the environment as "
                "TROTH_CONN_<NAME> or in the troth config file"
            )
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError("connection must be a name of lower-case letters, digits and _")
        return value


def is_personal_category(key: str) -> bool:
    return key == "user" or key.startswith("user.")

"""The data map model's other stores: key-value stores (Redis) and file sets (CSV, Parquet,
NDJSON, Delta Lake).

See :mod:`troth.datamap.model`, the one place to import the data map model from.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from troth.datamap.model_base import (
    Connected,
    EraseAction,
    Id,
    MaskStrategy,
    Node,
    as_list,
    mask_none_is_null,
)
from troth.datamap.model_tables import MapField
from troth.policy.model import CategoryKey, SubjectKey

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class KeyField(Node):
    """A field of a hash a key pattern finds: what it holds, and how erasure masks it
    (``null`` removes the field; ``redact`` and ``hash`` overwrite it)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    categories: Annotated[list[CategoryKey], BeforeValidator(as_list)] = Field(default_factory=list)
    mask: MaskStrategy = MaskStrategy.null

    @model_validator(mode="before")
    @classmethod
    def _null_mask(cls, data: Any) -> Any:
        return mask_none_is_null(data)

    @field_validator("mask")
    @classmethod
    def _no_fake(cls, value: MaskStrategy) -> MaskStrategy:
        if value is MaskStrategy.fake:
            raise ValueError("a hash field is masked with null, redact or hash (not fake)")
        return value


class KeyPattern(Node):
    """Keys of a key-value store found by a glob pattern holding the person's identity:
    ``session:{email}:*`` (each ``{name}`` is a request identity's value, glob-escaped).

    ``erase: delete`` removes the keys; ``erase: mask`` keeps them and masks the ``fields`` of a
    hash (the key name must then hold no personal identity: ``profile:{user_id}``).
    """

    name: Id
    pattern: Annotated[str, Field(min_length=3, max_length=500)]
    label: str | None = None
    categories: Annotated[list[CategoryKey], BeforeValidator(as_list)] = Field(default_factory=list)
    erase: Literal["delete", "mask"] = "delete"
    fields: list[KeyField] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _has_identity(cls, value: str) -> str:
        if not _PLACEHOLDER.search(value):
            raise ValueError(
                "a key pattern names the person with an identity placeholder, "
                "e.g. session:{email}:*"
            )
        return value

    @model_validator(mode="after")
    def _mask_needs_fields(self) -> KeyPattern:
        if self.erase == "mask" and not self.fields:
            raise ValueError("`erase: mask` needs the hash `fields` to mask")
        return self

    @property
    def identities(self) -> list[str]:
        return list(dict.fromkeys(_PLACEHOLDER.findall(self.pattern)))


class KeyStore(Connected):
    """A key-value store (Redis), reached through a named connection; its keys by pattern."""

    subject: SubjectKey | None = None
    keys: list[KeyPattern] = Field(default_factory=list)


class FileTable(Node):
    """Files of one shape in a folder (CSV, Parquet or NDJSON), read through DuckDB as one table:
    ``path`` is a glob relative to the connection's folder (``orders/*.parquet``); or a Delta Lake
    table (``format: delta``, ``path`` its folder), written through ``deltalake``.

    Erasure deletes the person's rows (``erase: delete_row``) or masks their personal fields
    (``null``, or ``redact`` for text); only the files holding the person's rows are rewritten.
    """

    name: Id
    path: Annotated[str, Field(min_length=1, max_length=500)]
    format: Literal["csv", "parquet", "ndjson", "delta"]
    #: Delta tables: after an erasure, vacuum files older than this many hours (0: at once), since
    #: earlier versions still hold the erased data; unset: old versions are kept (and reported)
    vacuum_hours: Annotated[int, Field(ge=0)] | None = None
    label: str | None = None
    subject: SubjectKey | None = None
    erase: EraseAction = EraseAction.mask
    fields: list[MapField] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.replace("\\", "/").split("/"):
            raise ValueError("path is a glob inside the connection's folder (no '/' or '..')")
        return value

    @model_validator(mode="after")
    def _identity_and_masks(self) -> FileTable:
        if not any(f.identity for f in self.fields):
            raise ValueError("a file table needs an identity field (e.g. identity: email)")
        for f in self.fields:
            if f.mask not in (None, MaskStrategy.null, MaskStrategy.redact):
                raise ValueError(f"field {f.name}: files are masked with null or redact")
        return self


class FileSet(Connected):
    """A folder of data files (an export folder, a lake), reached through a named connection
    whose URL is ``file:///absolute/folder``."""

    tables: list[FileTable] = Field(default_factory=list)

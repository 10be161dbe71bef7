"""Shared pieces of the policy model: identifier types, taxonomy references, durations, and
:class:`Element`, the base of every policy element (see :mod:`troth.policy.model`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
)

from troth.policy.duration import Duration, parse_duration

FORMAT_VERSION = 1

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
PromiseId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]*-[0-9]+$")]
TaxonomyKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=200)]


class TaxonomyRef:
    """Marks a field whose value must be a key of one taxonomy kind (checked by the loader)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


CategoryKey = Annotated[TaxonomyKey, TaxonomyRef("data_categories")]
SubjectKey = Annotated[TaxonomyKey, TaxonomyRef("data_subjects")]
UseKey = Annotated[TaxonomyKey, TaxonomyRef("data_uses")]
DurationField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "a duration: '2 years', '6 months and 15 days', '30 days', 'P1Y6M'",
            "examples": ["2 years", "30 days", "P1Y6M"],
        }
    ),
]


def _unspecified_to_none(value: object) -> object:
    return None if value in ("unspecified", "not stated") else value


OptionalDuration = Annotated[DurationField | None, BeforeValidator(_unspecified_to_none)]


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) legal bases."""

    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    legitimate_interest = "legitimate_interest"
    vital_interest = "vital_interest"
    public_task = "public_task"


class Jurisdiction(StrEnum):
    gdpr = "gdpr"
    uk_gdpr = "uk_gdpr"
    ccpa = "ccpa"
    lgpd = "lgpd"
    pdpa_th = "pdpa_th"
    pipeda = "pipeda"


class Element(BaseModel):
    """Common fields of every policy element."""

    # defer_build: a class's validator is built when first used, not at import; a process
    # builds the one it validates with (the policy's or the map's), not one per class
    model_config = ConfigDict(
        defer_build=True, extra="forbid", validate_default=False, str_strip_whitespace=True
    )

    promises: list[PromiseId] = Field(default_factory=list)
    assumptions: dict[str, str] = Field(default_factory=dict)
    note: str | None = None

    _path: tuple[str | int, ...] = PrivateAttr(default=())

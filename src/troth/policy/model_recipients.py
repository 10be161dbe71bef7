"""Recipients of the policy model: who receives personal data, under which transfer safeguard
and processing agreement, and how they are told of a change (Art. 19)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from troth.policy.model_base import (
    CategoryKey,
    Element,
    Id,
    SubjectKey,
)


class RecipientType(StrEnum):
    processor = "processor"
    third_party = "third_party"
    authority = "authority"
    joint_controller = "joint_controller"


class TransferMechanism(StrEnum):
    """How a transfer out of the EEA/UK is safeguarded (GDPR Chapter V)."""

    adequacy = "adequacy"  # Art. 45
    sccs = "sccs"  # Art. 46(2)(c) standard contractual clauses
    bcrs = "bcrs"  # Art. 47 binding corporate rules
    derogation = "derogation"  # Art. 49


class Dpa(BaseModel):
    """The data processing agreement with a processor (Art. 28(3))."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    signed: date
    expires: date | None = None
    sub_processors: list[str] = Field(default_factory=list)


class RecipientNotice(BaseModel):
    """How the recipient is told of an erasure, rectification or restriction (GDPR Art. 19):
    exactly one of an e-mail address (sent by the e-mail notifier), a webhook URL (a signed
    JSON POST; ``secret`` names the environment variable that holds its key), or an operation
    of a service of the data map (``service`` and ``operation``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)] | None = None
    webhook: Annotated[str, Field(pattern=r"^https?://", max_length=500)] | None = None
    secret: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=120)] | None = None
    service: Id | None = None
    operation: Id | None = None

    @model_validator(mode="after")
    def _one_channel(self) -> RecipientNotice:
        given = [n for n in ("email", "webhook", "service") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("notify needs exactly one of email, webhook or service")
        if self.webhook is not None and self.secret is None:
            raise ValueError("a webhook needs secret: the environment variable of its key")
        if (self.service is None) != (self.operation is None):
            raise ValueError("a service channel needs both service and operation")
        return self

    @property
    def channel(self) -> str:
        return "email" if self.email else "webhook" if self.webhook else "service"


class Recipient(Element):
    id: Id
    name: str
    type: RecipientType
    description: str | None = None
    categories: list[CategoryKey] | Literal["all"] = Field(default_factory=list)
    subjects: list[SubjectKey] = Field(default_factory=list)
    purposes: list[Id] = Field(default_factory=list)
    legal_request_required: bool = False
    country: str | None = None
    safeguards: str | None = None
    transfer: TransferMechanism | None = None
    dpa: Dpa | None = None
    #: the channel of its Art. 19 notices (erasure, rectification, restriction)
    notify: RecipientNotice | None = None

"""Rights and request rules of the policy model: the rights people have, which request types
need a human approval, and the clock rules of queued requests."""

from __future__ import annotations

from enum import StrEnum

from pydantic import (
    Field,
)

from troth.policy.duration import parse_duration
from troth.policy.model_base import (
    DurationField,
    Element,
)


class RightKind(StrEnum):
    access = "access"
    erasure = "erasure"
    rectification = "rectification"
    restriction = "restriction"
    objection = "objection"
    portability = "portability"
    withdraw_consent = "withdraw_consent"
    complaint = "complaint"


class Right(Element):
    right: RightKind
    channel: str
    contact: str | None = None


class Approval(StrEnum):
    automatic = "automatic"
    reviewer = "reviewer"


class QueuedKind(StrEnum):
    """Request types the workers run (rectification is run by an operator)."""

    access = "access"
    erasure = "erasure"
    restriction = "restriction"


class RequestRules(Element):
    """How the privacy team handles data-subject requests filed for the workers."""

    #: per request type, whether it runs on its own once the identity is verified, or waits for
    #: a reviewer's approval; a type not named waits for a reviewer
    approval: dict[QueuedKind, Approval] = Field(default_factory=dict)
    #: how long before a request's due date the team is reminded (webhook ``dsr.deadline``);
    #: an open request past its due date raises one overdue alert
    reminders: list[DurationField] = Field(
        default_factory=lambda: [parse_duration("7 days"), parse_duration("1 day")]
    )
    #: how long the privacy centre keeps a requester's contact data and request details after
    #: the request closes (completed or denied); ``troth centre upkeep`` forgets them after that
    contact_retention: DurationField = Field(default_factory=lambda: parse_duration("30 days"))

    def needs_reviewer(self, kind: str) -> bool:
        try:
            return self.approval.get(QueuedKind(kind), Approval.reviewer) == Approval.reviewer
        except ValueError:
            return True

"""Consent: the ledger, receipts, purpose decisions, purpose-bound views and the cookie banner.

Public API (imported lazily, because troth's state models import :mod:`troth.consent.models`)::

    ConsentLedger, NewEvent, EventKind, StoredEvent, ConsentState, subject_ref, SubjectRef,
    issue_token, read_token, UnknownSubjectError, Decider, Decision, build_receipt, sign_receipt,
    verify_receipt
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from troth.consent.decide import Decider, Decision
    from troth.consent.events import ConsentState, EventKind, NewEvent, StoredEvent
    from troth.consent.ledger import ConsentLedger, UnknownSubjectError, subject_ref
    from troth.consent.receipts import build_receipt
    from troth.consent.receipts import sign as sign_receipt
    from troth.consent.receipts import verify as verify_receipt
    from troth.consent.subjects import SubjectRef, issue_token, read_token

_WHERE = {
    "ConsentLedger": ("troth.consent.ledger", "ConsentLedger"),
    "UnknownSubjectError": ("troth.consent.ledger", "UnknownSubjectError"),
    "subject_ref": ("troth.consent.ledger", "subject_ref"),
    "SubjectRef": ("troth.consent.subjects", "SubjectRef"),
    "issue_token": ("troth.consent.subjects", "issue_token"),
    "read_token": ("troth.consent.subjects", "read_token"),
    "NewEvent": ("troth.consent.events", "NewEvent"),
    "EventKind": ("troth.consent.events", "EventKind"),
    "StoredEvent": ("troth.consent.events", "StoredEvent"),
    "ConsentState": ("troth.consent.events", "ConsentState"),
    "Decider": ("troth.consent.decide", "Decider"),
    "Decision": ("troth.consent.decide", "Decision"),
    "build_receipt": ("troth.consent.receipts", "build_receipt"),
    "sign_receipt": ("troth.consent.receipts", "sign"),
    "verify_receipt": ("troth.consent.receipts", "verify"),
}

__all__ = [
    "ConsentLedger",
    "ConsentState",
    "Decider",
    "Decision",
    "EventKind",
    "NewEvent",
    "StoredEvent",
    "SubjectRef",
    "UnknownSubjectError",
    "build_receipt",
    "issue_token",
    "read_token",
    "sign_receipt",
    "subject_ref",
    "verify_receipt",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'troth.consent' has no attribute {name!r}") from None
    return getattr(import_module(module), attr)

"""Built-in checks. Importing this package registers them in :data:`CHECKS`."""

from troth.policy.checks import organisation, purposes, references, retention, sharing
from troth.policy.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    Finding,
    Issue,
    Report,
    Severity,
    check,
    run_checks,
)

__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "Finding",
    "Issue",
    "Report",
    "Severity",
    "check",
    "organisation",
    "purposes",
    "references",
    "retention",
    "run_checks",
    "sharing",
]

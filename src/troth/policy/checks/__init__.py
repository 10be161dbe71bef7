"""Built-in checks. Importing this package registers them in :data:`CHECKS`."""

from troth.policy.checks import (
    dpia,
    organisation,
    purposes,
    references,
    retention,
    sharing,
    transfers,
)
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
    "dpia",
    "organisation",
    "purposes",
    "references",
    "retention",
    "run_checks",
    "sharing",
    "transfers",
]

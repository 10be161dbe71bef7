"""A purpose that likely needs a data protection impact assessment (GDPR Art. 35) and has none.

The criteria are the regulators' common ones (EDPB WP248 rev.01): a purpose meets the ones it
declares in ``risk:`` and those its data shows (special categories or children's data: sensitive
data; children, patients or employees: vulnerable people; a profiling use: evaluation or scoring).
A DPIA is needed when Art. 35(3) applies (evaluation with automated decisions; sensitive data on
a large scale; systematic monitoring on a large scale) or when two criteria or more are met.
"""

from __future__ import annotations

from collections.abc import Iterator

from troth.policy.checks.base import CheckContext, Issue, check
from troth.policy.model import DpiaCriterion as C
from troth.policy.model import Purpose
from troth.policy.taxonomy import covered_by_any

SENSITIVE = (
    "user.biometric",
    "user.childrens",
    "user.criminal_history",
    "user.demographic.political_opinion",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
    "user.health_and_medical",
)
VULNERABLE = ("child", "minor", "patient", "employee", "trainee", "job_applicant")
PROFILING = (
    "personalize.profiling",
    "marketing.advertising.profiling",
    "personalize.content.profiling",
)
ART_35_3 = (
    frozenset({C.evaluation_or_scoring, C.automated_decisions}),
    frozenset({C.sensitive_data, C.large_scale}),
    frozenset({C.systematic_monitoring, C.large_scale}),
)


def criteria(p: Purpose) -> set[C]:
    """The criteria purpose ``p`` meets: declared, and derived from its data and use."""
    met = set(p.risk)
    if any(covered_by_any(k, SENSITIVE) for k in p.categories):
        met.add(C.sensitive_data)
    if any(s in VULNERABLE for s in p.subjects):
        met.add(C.vulnerable_subjects)
    if covered_by_any(p.use, PROFILING):
        met.add(C.evaluation_or_scoring)
    return met


@check("dpia.missing", "error", "A likely high-risk purpose without a DPIA")
def dpia_missing(ctx: CheckContext) -> Iterator[Issue]:
    for p in ctx.policy.purposes:
        if p.dpia is not None:
            continue
        met = criteria(p)
        rule = next((pair for pair in ART_35_3 if pair <= met), None)
        if rule is None and len(met) < 2:
            continue
        names = ", ".join(sorted(c.value for c in met))
        why = "Art. 35(3) applies" if rule else "two or more of the regulators' criteria are met"
        yield ctx.issue(
            p,
            f"purpose {p.id!r} meets {names}: {why}, and no DPIA is recorded",
            fix="carry out a DPIA and record it: `dpia: {date: YYYY-MM-DD, reference: ...}` "
            "(GDPR Art. 35)",
        )

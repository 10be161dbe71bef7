"""Each promise of the policy: what encodes it, what enforces it, and its status with the reason.

A promise is **kept** when every mechanism that enforces it shows it kept (checks clean, requests
on time, sweeps run, controls attested, consents recorded), **at risk** when one shows a warning
sign (a check warning, a rule never swept in the period, a consent nobody recorded), **broken**
when one shows it was not kept (a check error, an overdue or late request, an overdue control, a
ledger that does not verify), and **not provable** when nothing troth runs bears on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from troth.policy.checks import Finding, Severity
from troth.policy.model import (
    Commitment,
    Consent,
    Policy,
    PolicyChanges,
    Purpose,
    Recipient,
    RestrictedSource,
    RetentionRule,
    Right,
    SecurityMeasure,
)
from troth.prove.evidence import Evidence, _ts


class Status(StrEnum):
    kept = "kept"
    at_risk = "at risk"
    broken = "broken"
    not_provable = "not provable"


_WORST = {Status.broken: 3, Status.at_risk: 2, Status.kept: 1, Status.not_provable: 0}

#: request kinds that serve each right
RIGHT_REQUESTS = {
    "access": ("access",),
    "portability": ("access",),
    "erasure": ("erasure",),
    "rectification": ("rectification",),
    "restriction": ("restriction",),
    "objection": ("restriction",),
}


@dataclass(frozen=True)
class Verdict:
    """What one mechanism shows about a promise."""

    mechanism: str
    status: Status
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class PromiseProof:
    id: str
    text: str
    encodes: list[str]
    verdicts: list[Verdict]

    @property
    def status(self) -> Status:
        judged = [v.status for v in self.verdicts if v.status is not Status.not_provable]
        return max(judged, key=_WORST.__getitem__) if judged else Status.not_provable

    @property
    def reason(self) -> str:
        worst = [v for v in self.verdicts if v.status is self.status]
        if not worst:
            return "no policy element encodes this promise"
        if self.status is Status.kept:  # say what keeps it, by mechanism
            by_mechanism: dict[str, list[str]] = {}
            for v in worst:
                by_mechanism.setdefault(v.mechanism, []).append(v.reason)
            parts = [
                reasons[0] if len(reasons) == 1 else f"{mechanism}: {len(reasons)} elements"
                for mechanism, reasons in by_mechanism.items()
            ]
            return "; ".join(parts)
        reasons = list(dict.fromkeys(v.reason for v in worst))
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        return "; ".join(reasons[:3]) + more

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "status": self.status.value,
            "reason": self.reason,
            "encodes": self.encodes,
            "enforced_by": [
                {"mechanism": v.mechanism, "status": v.status.value, "reason": v.reason,
                 "facts": v.facts}
                for v in self.verdicts
            ],
        }  # fmt: skip


def _path(element: Any) -> str:
    return ".".join(str(p) for p in getattr(element, "_path", ())) or type(element).__name__


def _element_verdicts(element: Any, evidence: Evidence) -> list[Verdict]:
    """The mechanisms that enforce one element, and what the evidence shows of each."""
    if isinstance(element, Consent):
        return [_consent(element, evidence)]
    if isinstance(element, RetentionRule):
        return [_retention(element, evidence)]
    if isinstance(element, Right):
        return [_right(element, evidence)]
    if isinstance(element, SecurityMeasure):
        return [_control(element, evidence), _breaches(evidence)]
    if isinstance(element, Recipient):
        n = evidence.disclosures.get(element.id, 0)
        return [
            Verdict(
                "disclosure gateway and register",
                Status.kept,
                f"{n} record(s) disclosed to {element.id} through the gateway, each limited to "
                "the fields the policy allows",
                {"records": n},
            )
        ]
    if isinstance(element, PolicyChanges):
        if not evidence.published:
            return [
                Verdict(
                    "published versions",
                    Status.at_risk,
                    "no version of the policy is published in troth (`troth publish`)",
                )
            ]
        version, when = evidence.published[-1]
        return [
            Verdict(
                "published versions",
                Status.kept,
                f"{len(evidence.published)} version(s) published, the last {version} on "
                f"{when[:10]}, each with whom it concerns",
                {"versions": [v for v, _ in evidence.published]},
            )
        ]
    if isinstance(element, Purpose):
        return [
            Verdict(
                "purpose decisions and views",
                Status.kept,
                f"purpose {element.id} is declared; decisions and views give only its fields",
            )
        ]
    if isinstance(element, Commitment):
        shared = sum(evidence.disclosures.values())
        return [
            Verdict(
                "disclosure gateway and register",
                Status.kept,
                f"{element.id} is checked against the recipients; the gateway refuses every "
                f"disclosure the policy does not declare ({evidence.refused} refused, {shared} "
                "disclosed in the period)",
                {"refused": evidence.refused, "disclosed": shared},
            )
        ]
    if isinstance(element, RestrictedSource):
        return [
            Verdict(
                "policy checks",
                Status.kept,
                f"{_path(element)} is encoded and checked against the data map",
            )
        ]
    return [Verdict("rendered policy", Status.kept, f"{_path(element)} is in the rendered policy")]


def _consent(consent: Consent, evidence: Evidence) -> Verdict:
    fig = evidence.consents.get(consent.id)
    events = sum(sum(k.values()) for k in fig.events.values()) if fig else 0
    facts: dict[str, Any] = {"events": events}
    if fig:
        facts |= {"subjects": fig.subjects, "given_now": fig.given_now, "by_notice": fig.events}
    if not events:
        return Verdict(
            "consent ledger and decisions",
            Status.at_risk,
            f"no {consent.id} consent event recorded in the period",
            facts,
        )
    return Verdict(
        "consent ledger and decisions",
        Status.kept,
        f"{events} {consent.id} consent event(s) recorded; decisions follow the newest",
        facts,
    )


def _retention(rule: RetentionRule, evidence: Evidence) -> Verdict:
    fig = evidence.retention.get(rule.id)
    if rule.enforced_period is None:
        return Verdict("retention sweeps", Status.not_provable, f"rule {rule.id} states no period")
    assumed = f" (assumed period {rule.assumed_period})" if rule.period is None else ""
    if fig is None or fig.runs == 0:
        last = f" (last {fig.last_run})" if fig and fig.last_run else " (never)"
        return Verdict(
            "retention sweeps",
            Status.at_risk,
            f"no sweep of rule {rule.id}{assumed} completed in the period{last}",
            {"last_run": fig.last_run if fig else None},
        )
    return Verdict(
        "retention sweeps",
        Status.kept,
        f"rule {rule.id}{assumed}: {fig.runs} sweep(s), {fig.deleted} deleted, "
        f"{fig.anonymised} anonymised, {fig.held} held",
        dict(vars(fig)),
    )


def _right(right: Right, evidence: Evidence) -> Verdict:
    kinds = RIGHT_REQUESTS.get(right.right.value)
    if kinds is None:
        if right.right.value == "withdraw_consent":
            return Verdict(
                "consent ledger", Status.kept, "withdrawals are recorded and decided at once"
            )
        return Verdict("requests", Status.not_provable, f"troth does not serve {right.right.value}")
    figs = [evidence.requests[k] for k in kinds if k in evidence.requests]
    facts = {k: vars(evidence.requests[k]) for k in kinds if k in evidence.requests}
    overdue = sum(f.overdue for f in figs)
    late = sum(f.completed_late for f in figs)
    if overdue or late:
        return Verdict(
            "data-subject requests",
            Status.broken,
            f"{overdue} {'/'.join(kinds)} request(s) overdue, {late} completed after the due date",
            facts,
        )
    done = sum(f.completed for f in figs)
    received = sum(f.received for f in figs)
    return Verdict(
        "data-subject requests",
        Status.kept,
        f"{received} {'/'.join(kinds)} request(s) received, {done} completed on time",
        facts,
    )


def _control(measure: SecurityMeasure, evidence: Evidence) -> Verdict:
    if measure.evidence is None:
        return Verdict(
            "attested controls",
            Status.not_provable,
            f"{measure.id} declares no evidence (an audit event and how often)",
        )
    kind = measure.evidence.kind
    last = evidence.last_event.get(kind)
    every = measure.evidence.every
    facts = {"evidence": kind, "every": str(every), "last": last}
    if last is None:
        return Verdict(
            "attested controls", Status.broken, f"{measure.id}: no {kind} recorded", facts
        )
    if _ts(last) < every.before(evidence.now):
        return Verdict(
            "attested controls",
            Status.broken,
            f"{measure.id}: last {kind} on {last[:10]} is older than {every}",
            facts,
        )
    return Verdict("attested controls", Status.kept, f"{measure.id}: {kind} on {last[:10]}", facts)


def _breaches(evidence: Evidence) -> Verdict:
    b = evidence.breaches
    facts = dict(b)
    if b.get("overdue") or b.get("late"):
        return Verdict(
            "breach register",
            Status.broken,
            f"{b.get('overdue', 0)} breach(es) not notified to the authority within 72 hours, "
            f"{b.get('late', 0)} notified late",
            facts,
        )
    if b.get("open"):
        return Verdict("breach register", Status.at_risk, f"{b['open']} breach(es) open", facts)
    if not b.get("recorded"):  # no breach says nothing either way about security
        return Verdict("breach register", Status.not_provable, "no breach recorded", facts)
    return Verdict(
        "breach register",
        Status.kept,
        f"{b['recorded']} breach(es) in the period, each notified in time and closed",
        facts,
    )


def _findings(findings: Iterable[Finding]) -> dict[str, list[Verdict]]:
    out: dict[str, list[Verdict]] = {}
    for f in findings:
        if f.severity not in (Severity.error, Severity.warning):
            continue
        status = Status.broken if f.severity is Severity.error else Status.at_risk
        for pid in f.promises:
            out.setdefault(pid, []).append(
                Verdict("policy checks", status, f"{f.check}: {f.message}", {"where": f.where})
            )
    return out


def probe_verdicts(results: Iterable[Any]) -> dict[str, list[Verdict]]:
    """Verdicts of conformance probes (:mod:`troth.prove.probes`) per promise."""
    out: dict[str, list[Verdict]] = {}
    for r in results:
        status = (
            Status.not_provable if r.passed is None else Status.kept if r.passed else Status.broken
        )
        for pid in r.promises:
            out.setdefault(pid, []).append(
                Verdict("conformance probe", status, f"{r.probe}: {r.reason}", r.to_dict())
            )
    return out


def assess(
    policy: Policy,
    evidence: Evidence,
    findings: Iterable[Finding],
    probes: Iterable[Any] = (),
) -> list[PromiseProof]:
    """Every promise of the policy with its verdicts, in the policy's order."""
    by_promise: dict[str, list[Any]] = {}
    for element in policy.all_elements():
        for pid in getattr(element, "promises", []):
            by_promise.setdefault(pid, []).append(element)
    checks = _findings(findings)
    probed = probe_verdicts(probes)
    ledger_ok = bool(evidence.ledger.get("ok"))
    out = []
    for promise in policy.promises:
        elements = by_promise.get(promise.id, [])
        verdicts = [v for e in elements for v in _element_verdicts(e, evidence)]
        verdicts += checks.get(promise.id, [])
        verdicts += probed.get(promise.id, [])
        if elements and not ledger_ok:
            verdicts.append(
                Verdict(
                    "audit ledger",
                    Status.broken,
                    f"the audit ledger does not verify ({evidence.ledger.get('reason')})",
                )
            )
        out.append(PromiseProof(promise.id, promise.text, [_path(e) for e in elements], verdicts))
    return out


def summary(proofs: Iterable[PromiseProof]) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for p in proofs:
        counts[p.status.value] += 1
    return counts

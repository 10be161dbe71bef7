"""The check registry: named checks that report findings with a location and a fix.

A check is a function ``(ctx) -> Iterable[Issue]`` registered with :func:`check`; the runner turns
each issue into a :class:`Finding` carrying the check's id and severity. Checks of later layers
(the data map, the live stores) register through the same decorator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from troth.plugins import Registry
from troth.policy.loader import PolicyDocument
from troth.policy.model import Policy
from troth.policy.taxonomy import parent
from troth.policy.yamlsrc import Located

if TYPE_CHECKING:
    from troth.datamap.loader import DataMapDocument


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Issue:
    """What a check found, before the runner adds the check's id and severity."""

    message: str
    where: str
    fix: str | None = None
    field: str | None = None
    promises: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str
    where: str
    fix: str | None = None
    field: str | None = None
    promises: tuple[str, ...] = ()

    @classmethod
    def of(cls, check: str, severity: Severity, issue: Issue) -> Finding:
        """The finding a check makes of one issue."""
        return cls(
            check=check,
            severity=severity,
            message=issue.message,
            where=issue.where,
            fix=issue.fix,
            field=issue.field,
            promises=issue.promises,
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["severity"] = self.severity.value
        out["promises"] = list(self.promises)
        return out


class CheckContext:
    """What a check sees: the policy document, plus indexes built once for all checks.

    ``datamap``: the data map beside the policy, when there is one (map checks skip without it).
    """

    def __init__(self, doc: PolicyDocument, datamap: DataMapDocument | None = None) -> None:
        self.doc = doc
        self.datamap = datamap
        self.policy: Policy = doc.policy
        self.collected: list[str] = self.policy.collected_categories()
        self.collected_set = set(self.collected)
        self.collected_ancestors = {a for key in self.collected for a in ancestors(key)}

    def issue(
        self,
        element: Any,
        message: str,
        *,
        field: str | None = None,
        fix: str | None = None,
        key: bool = False,
    ) -> Issue:
        """An issue about a policy element (or one of its fields)."""
        return issue_in(self.doc, element, message, field=field, fix=fix, key=key)

    def is_collected(self, key: str) -> bool:
        """``key`` or one of its ancestors or descendants is collected."""
        return any(a in self.collected_set for a in ancestors(key)) or (
            key in self.collected_ancestors
        )


def issue_in(
    doc: Located,
    element: Any,
    message: str,
    *,
    field: str | None = None,
    fix: str | None = None,
    key: bool = False,
) -> Issue:
    """An issue located at ``element`` (or its ``field``) of a loaded policy or data map."""
    return Issue(
        message=message,
        where=doc.where(element, field, key=key),
        fix=fix,
        field=doc.field_path(element, field),
        promises=tuple(getattr(element, "promises", ()) or ()),
    )


def ancestors(key: str) -> Iterator[str]:
    """``key`` and every ancestor, most specific first."""
    k: str | None = key
    while k:
        yield k
        k = parent(k)


CheckFn = Callable[[CheckContext], Iterable[Issue]]


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    title: str
    fn: CheckFn = field(repr=False)


CHECKS: Registry[Check] = Registry(
    "check",
    (
        "troth.policy.checks",
        "troth.datamap.checks",
        "troth.datamap.walk_checks",
        "troth.retention.checks",
        "troth.retention.store_checks",
    ),
)


def check(check_id: str, severity: Severity | str, title: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check: ``@check("purpose.no-legal-basis", "error", "Purpose without ...")``."""

    def add(fn: CheckFn) -> CheckFn:
        CHECKS.add(check_id, Check(check_id, Severity(severity), title, fn))
        return fn

    return add


@dataclass
class Report:
    findings: list[Finding]
    checks_run: int

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> int:
        return self.count(Severity.error)


def run_checks(
    doc: PolicyDocument,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    datamap: DataMapDocument | None = None,
) -> Report:
    """Run every registered check (or the selected ones) and sort the findings."""
    wanted = set(select) if select else None
    skipped = set(ignore)
    for name in (wanted or set()) | skipped:
        CHECKS.get(name)  # an unknown id fails with the list of valid ones
    ctx = CheckContext(doc, datamap)
    findings: list[Finding] = []
    run = 0
    for check_id, chk in CHECKS.items():
        if (wanted is not None and check_id not in wanted) or check_id in skipped:
            continue
        run += 1
        findings += [Finding.of(check_id, chk.severity, issue) for issue in chk.fn(ctx)]
    findings.sort(key=lambda f: (f.severity.rank, _line_key(f.where), f.check))
    return Report(findings=findings, checks_run=run)


def _line_key(where: str) -> tuple[str, int, int]:
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return where, 0, 0

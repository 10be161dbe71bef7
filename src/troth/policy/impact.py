"""Who a policy change concerns: whom to ask again for consent, and whom to tell before it
takes effect.

- **ask again**: a new purpose that relies on consent, a consent that now covers more purposes, or
  a new consent: the holders of that consent must give it again (their earlier consent did not
  cover the new use);
- **tell**: a new recipient or a recipient that now receives more categories, a retention period
  that got longer, a newly collected category, a purpose that uses more categories: every person
  the policy is about must be told before the change takes effect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from troth.policy import model as m

Action = Literal["ask_again", "tell"]


@dataclass(frozen=True)
class Impact:
    action: Action
    element: str
    reason: str
    #: the consent whose holders must be asked again (``ask_again``)
    consent: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _days(rule: m.RetentionRule) -> float | None:
    return rule.period.approx_days if rule.period is not None else None


def _cats(value: list[str] | str) -> set[str]:
    return {"*"} if value == "all" else set(value)


def impact(old: m.Policy, new: m.Policy) -> list[Impact]:
    """What ``new`` asks of the company towards people, compared with ``old``."""
    out: list[Impact] = []
    old_consents = {c.id: c for c in old.consents}
    old_purposes = {p.id: p for p in old.purposes}
    for c in new.consents:
        was_c = old_consents.get(c.id)
        if was_c is None:
            out.append(Impact("ask_again", f"consents.{c.id}", "new consent", c.id))
        elif set(c.purposes) - set(was_c.purposes):
            added = ", ".join(sorted(set(c.purposes) - set(was_c.purposes)))
            out.append(Impact("ask_again", f"consents.{c.id}", f"now also covers: {added}", c.id))
    for p in new.purposes:
        was_p = old_purposes.get(p.id)
        if p.legal_basis is m.LegalBasis.consent and (
            was_p is None or was_p.legal_basis is not m.LegalBasis.consent
        ):
            for cid in p.consents or ["(none named)"]:
                out.append(
                    Impact("ask_again", f"purposes.{p.id}", "a new use that relies on consent", cid)
                )
        if was_p is not None and set(p.categories) - set(was_p.categories):
            added = ", ".join(sorted(set(p.categories) - set(was_p.categories)))
            out.append(Impact("tell", f"purposes.{p.id}", f"now also uses: {added}"))
    old_recipients = {r.id: r for r in old.recipients}
    for r in new.recipients:
        was_r = old_recipients.get(r.id)
        if was_r is None:
            out.append(Impact("tell", f"recipients.{r.id}", "a new recipient"))
        elif _cats(r.categories) - _cats(was_r.categories):
            added = ", ".join(sorted(_cats(r.categories) - _cats(was_r.categories)))
            out.append(Impact("tell", f"recipients.{r.id}", f"now also receives: {added}"))
    old_rules = {r.id: r for r in old.retention}
    for rule in new.retention:
        before = old_rules.get(rule.id)
        if before is None:
            continue
        a, b = _days(before), _days(rule)
        if b is not None and (a is None or b > a):
            was = str(before.period) if before.period else "not stated"
            out.append(
                Impact("tell", f"retention.{rule.id}", f"kept longer: {was} -> {rule.period}")
            )
    collected = set(new.collected_categories()) - set(old.collected_categories())
    for key in sorted(collected):
        out.append(Impact("tell", f"data_categories.{key}", "newly collected"))
    return out

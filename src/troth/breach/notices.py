"""Drafts of a breach's notices: to the supervisory authority (Art. 33(3)) and to the people
(Art. 34(2)), from the register and the policy. The parts only the company can write (the likely
consequences, the measures) are marked for it to complete; nothing personal is in them."""

from __future__ import annotations

from datetime import UTC, datetime

from troth.breach.register import BreachInfo
from troth.policy.model import Policy

TODO = "[to complete]"


def _dpo(policy: Policy) -> str:
    org = policy.organisation
    contacts = [c for c in org.dpo if not c.is_empty()] or ([org.contact] if org.contact else [])
    parts: list[str] = []
    for c in contacts:
        parts += [x for x in (c.name, c.email, c.phone, c.url) if x]
    return ", ".join(parts) or TODO


def authority_notice(policy: Policy, breach: BreachInfo) -> str:
    org = policy.organisation
    people = sum(breach.people.values())
    rows = sum(breach.rows.values())
    lines = [
        f"# Personal data breach notification (GDPR Art. 33): {org.name}",
        "",
        f"Breach reference: {breach.id}",
        f"Became aware: {breach.detected_at.isoformat()}",
        f"Notification due by: {breach.deadline.isoformat()}",
        "",
        "## (a) Nature of the breach",
        f"Nature: {', '.join(breach.nature)}. Description: {breach.description}",
        f"Categories of personal data: {', '.join(breach.categories) or 'none mapped'}.",
        f"Approximate number of data subjects concerned: {people} "
        f"({', '.join(f'{t}: {n}' for t, n in sorted(breach.people.items())) or 'none found'}).",
        f"Approximate number of personal data records concerned: {rows} "
        f"({', '.join(f'{t}: {n}' for t, n in sorted(breach.rows.items()))}).",
        "",
        "## (b) Contact point",
        f"Data protection officer or contact: {_dpo(policy)}",
        "",
        "## (c) Likely consequences",
        TODO,
        "",
        "## (d) Measures taken or proposed",
        (f"Contained on {breach.contained_at}. " if breach.contained_at else "") + TODO,
    ]
    if breach.late() or breach.overdue(datetime.now(UTC)):
        lines += ["", "## Reasons for the delay (Art. 33(1))", TODO]
    return "\n".join(lines) + "\n"


def people_notice(policy: Policy, breach: BreachInfo) -> str:
    org = policy.organisation
    return (
        "\n".join(
            [
                f"# What happened to your data at {org.name}",
                "",
                f"On {breach.detected_at.date().isoformat()} we found that some of your personal "
                f"data was affected by a security incident: {breach.description}",
                "",
                "What was concerned: "
                + (", ".join(breach.categories) if breach.categories else TODO)
                + ".",
                "",
                "What it may mean for you: " + TODO,
                "",
                "What we have done and what you can do: " + TODO,
                "",
                f"Questions: contact our data protection officer, {_dpo(policy)}.",
            ]
        )
        + "\n"
    )

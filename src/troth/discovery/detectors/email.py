"""E-mail addresses."""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule


class EmailDetector:
    name: str = "email"
    entity: str = "EMAIL_ADDRESS"
    category: str = "user.contact.email"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "email.address",
            r"A-Za-z0-9",
            r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])",
            0.95,
            needs=("@",),
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        local, _, domain = candidate.value.partition("@")
        if ".." in local or local.endswith(".") or ".." in domain:
            return None
        return candidate.rule.confidence


DETECTORS.add("email", EmailDetector())

"""National identifiers with their checks: US SSN (issuance rules), UK NHS number (mod 11),
Spanish DNI/NIE (mod 23 letter), Dutch BSN (11-proof).

A 9- or 10-digit run is too common to be an identifier by itself: the NHS number, the BSN and an
undashed SSN need a context word (``NHS``, ``BSN``, ``SSN``) as well as their check.
"""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule
from troth.discovery.checksums import bsn_ok, digits_of, dni_ok, nhs_ok, ssn_ok

_NATIONAL = "user.government_id.national_identification_number"

_CONTEXT = {
    "id.us_ssn": ("ssn", "social security", "social sec"),
    "id.us_ssn_digits": ("ssn", "social security", "social sec"),
    "id.uk_nhs": ("nhs", "health service", "national health"),
    "id.nl_bsn": ("bsn", "burgerservicenummer", "sofinummer", "sofi"),
    "id.es_dni": ("dni", "nie", "nif", "documento"),
}

#: rules whose candidates are identifiers only with their context word near them
_WORD_NEEDED = frozenset({"id.uk_nhs", "id.nl_bsn", "id.us_ssn_digits"})


class NationalIdDetector:
    name: str = "national_id"
    entity: str = "NATIONAL_ID"
    category: str = _NATIONAL
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "id.us_ssn",
            r"\d",
            r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])",
            0.75,
            entity="US_SSN",
            needs=("-",),
        ),
        Rule(
            "id.es_dni",
            r"\dXYZ",
            r"(?<![\w-])(?:\d{8}|[XYZ]\d{7})-?[A-Z](?![\w-])",
            0.85,
            entity="ES_NIF",
        ),
        Rule(
            "id.uk_nhs",
            r"\d",
            r"(?<![\d-])(?<!\d[ -])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d-])",
            0.8,
            entity="UK_NHS",
            needs=_CONTEXT["id.uk_nhs"],
        ),
        Rule(
            "id.nl_bsn",
            r"\d",
            r"(?<![\d-])\d{9}(?![\d-])",
            0.8,
            entity="NL_BSN",
            needs=_CONTEXT["id.nl_bsn"],
        ),
        Rule(
            "id.us_ssn_digits",
            r"\d",
            r"(?<![\d-])\d{3} ?\d{2} ?\d{4}(?![\d-])",
            0.8,
            entity="US_SSN",
            needs=_CONTEXT["id.us_ssn_digits"],
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        rule = candidate.rule
        value = candidate.value
        if rule.name == "id.es_dni":
            ok = dni_ok(value)
        elif rule.name == "id.uk_nhs":
            ok = nhs_ok(digits_of(value))
        elif rule.name == "id.nl_bsn":
            ok = bsn_ok(value)
        else:
            ok = ssn_ok(digits_of(value))
        if not ok:
            return None
        near = candidate.near(_CONTEXT[rule.name], 16)
        if rule.name in _WORD_NEEDED:  # a digit run: an identifier only with its word
            return rule.confidence if near else None
        return min(rule.confidence + 0.2, 1.0) if near else rule.confidence


DETECTORS.add("national_id", NationalIdDetector())

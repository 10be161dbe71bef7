"""Phone numbers: candidates of digit groups, validated by ``phonenumbers`` for a region.

A number in international form (``+44 20 7946 0958``) is parsed as it is; a national one
(``(202) 555-0143``) is parsed for each of ``regions`` in turn (``PhoneDetector.regions``, the
first valid wins; outside North America a national number starts with its trunk prefix 0). A
bare run of digits is a phone only near a context word (``call``, ``tel``).
"""

from __future__ import annotations

import phonenumbers

from troth.discovery.base import DETECTORS, Candidate, Rule

#: regions tried for numbers written without a country code, first first
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE")


class PhoneDetector:
    name: str = "phone"
    entity: str = "PHONE_NUMBER"
    category: str = "user.contact.phone_number"
    context: tuple[str, ...] = (
        "phone", "tel", "telephone", "mobile", "cell", "call", "ring", "text", "sms",
        "whatsapp", "fax", "reach",
    )  # fmt: skip
    regions: tuple[str, ...] = DEFAULT_REGIONS
    rules: tuple[Rule, ...] = (
        Rule(
            "phone.international",
            r"+",
            r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,4}"
            r"(?![\w-]|\.\d)",
            0.85,
        ),
        Rule(
            "phone.national",
            r"(\d",
            r"(?<![\w+.-])(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{2,5}(?:[ .-]\d{2,5}){0,3}"
            r"(?![\w-]|\.\d)",
            0.6,
        ),
        Rule("phone.digits", r"\d", r"(?<![\w+.-])0?\d{9,11}(?![\w-]|\.\d)", 0.3),
    )

    @classmethod
    def validate(cls, candidate: Candidate) -> float | None:
        value = candidate.value
        digits = sum(c.isdigit() for c in value)
        if not 7 <= digits <= 15:
            return None
        regions = (None,) if value.startswith("+") else cls.regions
        trunk = value.lstrip("(").startswith("0")
        for region in regions:
            if region not in (None, "US", "CA") and not trunk:
                continue  # written nationally, these regions' numbers start with 0
            try:
                number = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return candidate.rule.confidence
        return None


DETECTORS.add("phone", PhoneDetector())

"""Postal codes of a few countries: United Kingdom, Canada, United States (after a state's
abbreviation), the Netherlands and Germany (before a town's name, near an address word)."""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
    ]
)
#: words (or ends of street names: ``Hauptstraße``, ``Keizersgracht``) before a Dutch or German
#: postal code that make it one
ADDRESS_WORDS = (
    "street", "road", "avenue", "address", "adres", "adresse", "postcode", "plz", "straße",
    "strasse", "str.", "weg", "platz", "allee", "gasse", "straat", "laan", "plein", "gracht",
    "germany", "deutschland", "netherlands", "nederland",
)  # fmt: skip


class PostalCodeDetector:
    name: str = "postal_code"
    entity: str = "POSTAL_CODE"
    category: str = "user.contact.address.postal_code"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "postal.gb",
            r"A-Z",
            r"(?<![A-Za-z0-9])(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?) \d[ABD-HJLNP-UW-Z]{2}"
            r"(?![A-Za-z0-9])",
            0.7,
        ),
        Rule(
            "postal.ca",
            r"A-Z",
            r"(?<![A-Za-z0-9])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d"
            r"(?![A-Za-z0-9])",
            0.7,
        ),
        Rule("postal.us", r"\d", r"(?<=\b[A-Z]{2} )\d{5}(?:-\d{4})?(?![\w-])", 0.7),
        Rule("postal.nl", r"\d", r"(?<![\w-])[1-9]\d{3} ?[A-Z]{2}(?![\w-])", 0.4),
        Rule("postal.de", r"\d", r"(?<![\w.,-])\d{5}(?= [A-ZÄÖÜ][a-zäöüß]{2,})", 0.4),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        rule = candidate.rule.name
        if rule == "postal.us":
            state = candidate.text[candidate.start - 3 : candidate.start - 1]
            return candidate.rule.confidence if state in US_STATES else None
        if rule == "postal.nl" and candidate.value[-2:] in ("SA", "SD", "SS"):
            return None
        if rule in ("postal.nl", "postal.de"):
            before = candidate.before(40)
            if not any(w in before for w in ADDRESS_WORDS):
                return None
            return candidate.rule.confidence + 0.3
        return candidate.rule.confidence


DETECTORS.add("postal_code", PostalCodeDetector())

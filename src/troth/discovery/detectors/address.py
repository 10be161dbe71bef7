"""Street addresses of a few countries: a house number before a capitalised street name with an
English street word (``221B Baker Street``, ``12 Main St``), or a German or Dutch street name
(``...straße``, ``...weg``, ``...gracht``, ``...laan``) before its house number."""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule

_EN_WORDS = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way|Court|Ct|Place|Pl|"
    "Terrace|Close|Square|Sq|Parkway|Pkwy|Highway|Hwy"
)
_DE_NL_ENDS = (
    "straße|strasse|str\\.|weg|platz|allee|gasse|ring|damm|gracht|straat|laan|plein|kade|singel"
)


class StreetAddressDetector:
    name: str = "street_address"
    entity: str = "STREET_ADDRESS"
    category: str = "user.contact.address.street"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "address.en",
            r"\d",
            rf"(?<![\w.,/-])\d{{1,5}}[A-Za-z]? (?:[A-Z][a-z]+ ){{1,3}}(?:{_EN_WORDS})(?![\w-])"
            # an address ends the phrase: a comma, a full stop, the end, or a capitalised town
            r"(?=[,.;\n]|$| [A-Z0-9])",
            0.7,
        ),
        Rule(
            "address.de_nl",
            r"A-ZÄÖÜ",
            rf"(?<![\w-])[A-ZÄÖÜ][a-zäöüß]+(?:{_DE_NL_ENDS}) \d{{1,4}}[a-z]?(?![\w-])",
            0.7,
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        return candidate.rule.confidence


DETECTORS.add("street_address", StreetAddressDetector())

"""International bank account numbers: a country's length and the mod-97 check."""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule
from troth.discovery.checksums import iban_ok

#: IBAN length by country (ISO 13616 registry, the countries troth's users meet most)
LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip


class IbanDetector:
    name: str = "iban"
    entity: str = "IBAN_CODE"
    category: str = "user.financial.bank_account"
    context: tuple[str, ...] = ("iban", "bank", "account", "transfer", "sepa")
    rules: tuple[Rule, ...] = (
        Rule(
            "iban.code",
            r"A-Z",
            r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"
            r"(?![A-Za-z0-9])",
            0.9,
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        compact = candidate.value.replace(" ", "")
        if LENGTHS.get(compact[:2]) != len(compact) or not iban_ok(compact):
            return None
        return candidate.rule.confidence


DETECTORS.add("iban", IbanDetector())

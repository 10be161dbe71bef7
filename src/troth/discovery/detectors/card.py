"""Payment card numbers: 13-19 digits in one run or in groups, a known issuer prefix, Luhn."""

from __future__ import annotations

from troth.discovery.base import DETECTORS, Candidate, Rule
from troth.discovery.checksums import luhn_ok


def issuer_ok(number: str) -> bool:
    """A prefix of Visa, Mastercard, Amex, Discover, JCB, Diners or UnionPay, of a length it
    issues."""
    n = len(number)
    two, four = int(number[:2]), int(number[:4])
    if number[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if four == 6011 or two == 65 or 644 <= int(number[:3]) <= 649:
        return 16 <= n <= 19
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two in (36, 38, 39) or 300 <= int(number[:3]) <= 305:
        return 14 <= n <= 19
    if two == 62:
        return 16 <= n <= 19
    return False


class PaymentCardDetector:
    name: str = "payment_card"
    entity: str = "CREDIT_CARD"
    category: str = "user.financial.credit_card"
    context: tuple[str, ...] = ("card", "credit", "visa", "mastercard", "amex", "cc", "payment")
    rules: tuple[Rule, ...] = (
        Rule("card.digits", r"\d", r"(?<![\d.,-])(?<!\d[ -])\d{13,19}(?![\d-]|[.,]\d)", 0.75),
        Rule(
            "card.grouped",
            r"\d",
            r"(?<![\d.,-])(?<!\d[ -])\d{4}[ -]\d{4,6}[ -]\d{4,5}(?:[ -]\d{1,4})?(?![\d-]|[.,]\d)",
            0.85,
        ),
    )

    @staticmethod
    def validate(candidate: Candidate) -> float | None:
        value = candidate.value
        number = "".join(c for c in value if c.isdigit())
        if len({c for c in value if not c.isdigit()}) > 1:  # one kind of separator
            return None
        if not 13 <= len(number) <= 19 or len(set(number)) == 1:
            return None
        if not issuer_ok(number) or not luhn_ok(number):
            return None
        return candidate.rule.confidence


DETECTORS.add("payment_card", PaymentCardDetector())

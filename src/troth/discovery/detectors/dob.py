"""Dates of birth: a valid calendar date in the past, with a birth word just before it.

A date alone is not a birth date (an invoice date, a release date): without a context word such
as ``born``, ``DOB`` or ``date of birth`` the candidate is rejected.
"""

from __future__ import annotations

import datetime as dt
import re

from troth.discovery.base import DETECTORS, Candidate, Rule

BIRTH_WORDS = (
    "born", "dob", "d.o.b", "d.o.b.", "date of birth", "birth date", "birthdate", "birthday",
    "birth", "geboren", "geb.", "né le", "née le", "fecha de nacimiento", "nacido",
)  # fmt: skip

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}  # fmt: skip
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NUM = re.compile(r"\d+")


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


class DateOfBirthDetector:
    name: str = "date_of_birth"
    entity: str = "DATE_OF_BIRTH"
    category: str = "user.demographic.date_of_birth"
    context: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = (
        Rule(
            "dob.iso",
            r"\d",
            r"(?<![\d.-])(?:19|20)\d\d-[01]?\d-[0-3]?\d(?![\d-])",
            0.85,
            needs=BIRTH_WORDS,  # the validator wants one near
        ),
        Rule(
            "dob.numeric",
            r"\d",
            r"(?<![\d./-])[0-3]?\d[./-][0-3]?\d[./-](?:19|20)\d\d(?![\d/-]|\.\d)",
            0.85,
            needs=BIRTH_WORDS,
        ),
        Rule(
            "dob.text",
            r"0-9a-z",
            rf"(?<![\w])(?:[0-3]?\d(?:st|nd|rd|th)?\s+{_MONTH_RE}\.?,?|{_MONTH_RE}\.?\s+[0-3]?\d(?:st|nd|rd|th)?,?)\s+(?:19|20)\d\d(?!\d)",
            0.85,
            ignore_case=True,
            needs=BIRTH_WORDS,
        ),
    )

    @staticmethod
    def parse(value: str, rule: str) -> dt.date | None:
        nums = [int(n) for n in _NUM.findall(value)]
        if rule == "dob.iso":
            return _date(*nums[:3])
        if rule == "dob.numeric":
            a, b, year = nums[:3]
            # day first (most of the world), else month first (US)
            return _date(year, b, a) or _date(year, a, b)
        word = re.search(r"[A-Za-z]{3,}", value)
        month = _MONTHS.get(word.group(0).lower().rstrip(".")) if word else None
        if month is None or len(nums) < 2:
            return None
        return _date(nums[-1], month, nums[0])

    @classmethod
    def validate(cls, candidate: Candidate) -> float | None:
        if not candidate.near(BIRTH_WORDS, 30):
            return None
        date = cls.parse(candidate.value, candidate.rule.name)
        if date is None or not dt.date(1900, 1, 1) <= date <= dt.date.today():
            return None
        return candidate.rule.confidence


DETECTORS.add("date_of_birth", DateOfBirthDetector())

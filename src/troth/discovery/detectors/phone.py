"""Phone numbers: candidates of digit groups, validated by ``phonenumbers`` for a region.

A number in international form (``+44 20 7946 0958``) is parsed as it is; a national one
(``(202) 555-0143``) is parsed for each of ``regions`` in turn (``PhoneDetector.regions``, the
first valid wins; outside North America a national number starts with its trunk prefix 0). A
bare run of digits is a phone only near a context word (``call``, ``tel``).
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers

from troth.discovery.base import DETECTORS, Candidate, Rule

#: regions tried for numbers written without a country code, first first
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE")


_NON_DIGITS = re.compile(r"\D")
_DATE = re.compile(r"(?:19|20)\d\d[-/.][01]\d[-/.][0-3]\d|[0-3]\d[-/.][01]\d[-/.](?:19|20)\d\d")


_PHONE_WORDS = (
    "phone", "tel", "telephone", "mobile", "cell", "call", "ring", "text", "sms",
    "whatsapp", "fax", "reach",
)  # fmt: skip


def _nanp_shape(digits: str) -> bool:
    """A North American number: ten digits (or 1 and ten), area code and exchange from 2-9."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


class PhoneDetector:
    name: str = "phone"
    entity: str = "PHONE_NUMBER"
    category: str = "user.contact.phone_number"
    context: tuple[str, ...] = _PHONE_WORDS
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
            r"(?<![\w+.-])(?<!\d[ .-])(?=[\d() .-]{8})(?!(?:19|20)\d\d-[01]\d-[0-3]\d)"
            r"(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{2,5}"
            r"(?:[ .-]\d{2,5}){0,3}(?![\w-]|\.\d)",
            0.6,
        ),
        Rule(
            "phone.digits",
            r"\d",
            r"(?<![\w+.-])(?<!\d[ .-])0?\d{9,11}(?![\w-]|\.\d)",
            0.3,
            needs=_PHONE_WORDS,  # the validator wants one near
        ),
    )

    @classmethod
    def validate(cls, candidate: Candidate) -> float | None:
        value = candidate.value
        if _DATE.match(value):
            return None  # 2025-03-12 10..., 12.03.2025: a date (and time), not a number
        digits = _NON_DIGITS.sub("", value)
        if not 7 <= len(digits) <= 15:
            return None
        if candidate.rule.name == "phone.digits" and not candidate.near(cls.context, 20):
            return None  # a bare run of digits is a phone number only near a phone word
        international = value.startswith("+")
        trunk = digits.startswith("0")
        if not international and not trunk and not _nanp_shape(digits):
            return None  # cheap shape checks before the parser
        if not international and not trunk:  # a North American number, as the parser reads it
            number = phonenumbers.PhoneNumber(country_code=1, national_number=int(digits[-10:]))
            return candidate.rule.confidence if _valid(number) else None
        if international and (intl := _international(digits)) is not None and _valid(intl):
            return candidate.rule.confidence  # else the parser decides (a leading zero...)
        regions = (None,) if international else cls.regions
        for region in regions:
            if region not in (None, "US", "CA") and not trunk:
                continue  # written nationally, these regions' numbers start with 0
            if trunk and not international and not digits.startswith("00"):
                code = _trunk_zero_code(region) if region else None
                if code is not None:  # the parser would strip the 0: the same number, built
                    national = phonenumbers.PhoneNumber(
                        country_code=code, national_number=int(digits[1:])
                    )
                    if _valid(national):
                        return candidate.rule.confidence
                    continue
                if region in ("US", "CA") and not digits.startswith("011"):
                    continue  # no North American number starts with 0 (011 dials abroad)
            try:
                number = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                continue
            if _valid(number):
                return candidate.rule.confidence
        return None


@cache
def _trunk_zero_code(region: str) -> int | None:
    """The country code of ``region`` when its national numbers are written after a trunk 0 that
    the parser only strips (``020 7946 0958`` is +44 20 7946 0958), else None."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix != "0" or meta.national_prefix_transform_rule:
        return None
    parsing = meta.national_prefix_for_parsing or "0"
    if meta.country_code is None or (parsing != "0" and not parsing.startswith("0|")):
        return None
    return int(meta.country_code)


def _valid(number: phonenumbers.PhoneNumber) -> bool:
    """``phonenumbers``' validity, the main region of the number's country first; the full check
    (which region the number belongs to) only for a country code several regions share (+1, +7,
    +44...). The same answer as ``phonenumbers.is_valid_number(number)`` (property-tested), from
    each region's patterns compiled once per number length instead of one look-up per type."""
    code = number.country_code or 0
    main = phonenumbers.region_code_for_country_code(code)
    if main in ("ZZ", "001"):  # no region, or a non-geographic entity: the library's check
        return bool(phonenumbers.is_valid_number(number))
    nsn = phonenumbers.national_significant_number(number)
    if _valid_in(nsn, main):
        return True
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) < 2:
        return False
    region = _region_of(nsn, regions)
    return region is not None and _valid_in(nsn, region)


def _valid_in(nsn: str, region: str) -> bool:
    """Whether the national significant number ``nsn`` is of a known type in ``region``."""
    checks = _checks(region, len(nsn))
    return checks is not None and all(p.fullmatch(nsn) for p in checks)


#: the number types ``phonenumbers`` tells apart (a valid number is of one of them)
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip


@cache
def _checks(region: str, length: int) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """The region's general pattern and its number types' patterns as one alternation, for
    national numbers of ``length`` digits (None: no valid number of that length there)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    general = meta.general_desc if meta is not None else None
    if meta is None or general is None or not _admits(general, length):
        return None
    kinds = [getattr(meta, t) for t in _TYPES]
    alts = [f"(?:{d.national_number_pattern})" for d in kinds if _admits(d, length)]
    if not alts:
        return None
    return re.compile(str(general.national_number_pattern)), re.compile("|".join(alts))


def _admits(desc: phonenumbers.PhoneNumberDesc | None, length: int) -> bool:
    """A number description with a pattern whose possible lengths include ``length`` (no
    lengths listed: any)."""
    if desc is None or not desc.national_number_pattern:
        return False
    lengths = desc.possible_length
    return not lengths or length in lengths


def _region_of(nsn: str, regions: tuple[str, ...]) -> str | None:
    """The region of a shared country code a number belongs to, as ``phonenumbers`` decides it:
    the first whose leading digits start it, or (without leading digits) where it is valid."""
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            if _leading(meta.leading_digits).match(nsn):
                return region
        elif _valid_in(nsn, region):
            return region
    return None


@cache
def _leading(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _international(digits: str) -> phonenumbers.PhoneNumber | None:
    """``+<country code><national number>`` without the parser: the country code is the prefix
    of one to three digits that is one (they are prefix-free); None when the national number
    keeps a leading zero (the parser handles those)."""
    for n in (1, 2, 3):
        code = int(digits[:n])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            rest = digits[n:]
            if not rest or rest[0] == "0":
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(rest))
    return None


DETECTORS.add("phone", PhoneDetector())

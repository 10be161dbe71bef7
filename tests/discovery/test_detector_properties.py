"""Property tests: checksummed entities are found exactly when their check holds, and the scanner's
spans are always ordered, inside the text and never overlapping."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from troth.discovery import scan
from troth.discovery.checksums import iban_ok, luhn_ok

_FILLER = st.sampled_from(["paid with", "card:", "ref", "see", "thanks,", ""])


def _luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError


@settings(deadline=None)  # the first call compiles the scanner
@given(st.text(alphabet="0123456789", min_size=15, max_size=15), _FILLER)
def test_visa_numbers_found_exactly_when_luhn_holds(body: str, before: str) -> None:
    good = "4" + body[:14] + _luhn_digit("4" + body[:14])
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    for number, valid in ((good, True), (bad, False)):
        text = f"{before} {number} ok".strip()
        cards = [s.value(text) for s in scan(text) if s.entity == "CREDIT_CARD"]
        assert cards == ([number] if valid and len(set(number)) > 1 else [])


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


@settings(deadline=None)  # the first call compiles the scanner
@given(st.text(alphabet="0123456789", min_size=18, max_size=18), st.integers(0, 17))
def test_german_ibans_found_exactly_when_mod97_holds(bban: str, pos: int) -> None:
    good = _iban("DE", bban)
    assert iban_ok(good)
    digit = good[4 + pos]
    bad = good[: 4 + pos] + str((int(digit) + 1) % 10) + good[5 + pos :]
    assert [s.value(f"IBAN {good}") for s in scan(f"IBAN {good}")] == [good]
    assert not [s for s in scan(f"IBAN {bad}") if s.entity == "IBAN_CODE"]


@settings(deadline=None)  # the first call compiles the scanner
@given(
    st.from_regex(r"[a-z][a-z0-9._]{0,15}", fullmatch=True).filter(
        lambda s: ".." not in s and not s.endswith(".")
    ),
    st.from_regex(r"[a-z][a-z0-9]{1,10}", fullmatch=True),
)
def test_emails_found_whole(local: str, domain: str) -> None:
    addr = f"{local}@{domain}.example.com"
    text = f"from {addr}, thanks"
    assert [(s.entity, s.value(text)) for s in scan(text)] == [("EMAIL_ADDRESS", addr)]


@settings(deadline=None)  # the first call compiles the scanner
@given(st.text(max_size=300))
def test_spans_ordered_inside_and_disjoint(text: str) -> None:
    spans = scan(text)
    last = 0
    for s in spans:
        assert last <= s.start < s.end <= len(text)
        assert 0.5 <= s.confidence <= 1.0
        last = s.end


@settings(deadline=None)  # the first call compiles the scanner
@given(
    st.lists(
        st.sampled_from(
            [
                "jane@example.com",
                "4111 1111 1111 1111",
                "call (202) 555-0143",
                "v1.2.3",
                "order 2023-10045",
                "123e4567-e89b-12d3-a456-426614174000",
                "GB82 WEST 1234 5698 7654 32",
                "hello",
                "192.168.0.1",
            ]
        ),
        max_size=8,
    )
)
def test_scanning_pieces_together_finds_what_each_piece_has(pieces: list[str]) -> None:
    text = " ; ".join(pieces)
    alone = [(s.entity, s.value(p)) for p in pieces for s in scan(p)]
    together = [(s.entity, s.value(text)) for s in scan(text)]
    assert together == alone


def _reference_scan(text: str) -> list[tuple[int, int, str]]:
    """The scanner's meaning, computed naively: at each position not right after a letter or
    digit, the rules in priority order, each matched alone; the first the validator accepts
    wins and the walk goes on after it."""
    from troth.discovery.engine import default_scanner

    s = default_scanner()
    # every rule once, in the detectors' priority order
    ordered = [(d, r) for d in s.detectors for r in d.rules]
    alts = {(a.detector.name, a.rule.name): a for sec in s._sections for a in sec}
    out: list[tuple[int, int, str]] = []
    pos = 0
    while pos < len(text):
        if pos > 0 and text[pos - 1].isalnum():
            pos += 1
            continue
        span = None
        for det, rule in ordered:
            alt = alts[det.name, rule.name]
            m = alt.compiled.match(text, pos)
            if m is not None:
                span = s._accept(alt, m)
                if span is not None:
                    out.append((span.start, span.end, span.entity))
                    pos = max(m.end(), span.end)
                    break
        if span is None:
            pos += 1
    return out


_PIECES = st.sampled_from(
    [
        "jane@example.com",
        "4111 1111 1111 1111",
        "4111 1111 1111 1112",
        "(202) 555-0143",
        "+44 20 7946 0958",
        "v1.2.3.4",
        "192.168.0.1",
        "2001:db8::1",
        "12:30:45",
        "born 1985-03-12",
        "invoice 2023-04-01",
        "SSN 123-45-6789",
        "NHS 943 476 5919",
        "BSN 111222333",
        "DNI 12345678Z",
        "Dear Maria Garcia",
        "London SW1A 2AA",
        "IL 62704",
        "GB82 WEST 1234 5698 7654 32",
        "gmail message 18c2f3a4b5d6e7f8",
        "people/c1234567890123456789",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "order 2023-100452",
        "hello",
        "x",
        "-",
        "12",
    ]
)


@settings(deadline=None)  # the first call compiles the scanner
@given(st.lists(_PIECES, max_size=10), st.sampled_from([" ", ", ", "; ", "\n", "|"]))
def test_one_pass_equals_each_rule_tried_alone(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert [(s.start, s.end, s.entity) for s in scan(text)] == _reference_scan(text)


@settings(deadline=None)
@given(
    st.sampled_from(["1", "44", "49", "33", "31", "39", "7", "61", "34", "353"]),
    st.text(alphabet="0123456789", min_size=6, max_size=11),
)
def test_phone_fast_path_agrees_with_the_parser(code: str, national: str) -> None:
    import phonenumbers

    from troth.discovery.base import Candidate
    from troth.discovery.detectors.phone import PhoneDetector

    for text, region in ((f"+{code} {national}", None), (f"({national[:3]}) {national[3:]}", "US")):
        try:
            expected = phonenumbers.is_valid_number(phonenumbers.parse(text, region))
        except phonenumbers.NumberParseException:
            expected = False
        rule = next(r for r in PhoneDetector.rules if r.name == "phone.international")
        got = PhoneDetector.validate(Candidate(f"call {text}", 5, 5 + len(text), rule))
        if region == "US" and national.startswith("0"):
            continue  # a national number with a trunk 0 is tried for GB and DE too
        assert (got is not None) == expected, text


_GATED_PIECES = st.sampled_from(
    [
        "jane@example.com",
        "born 1985-03-12",
        "1985-03-12",
        "DOB: 12/03/1985",
        "3 March 1985",
        "NHS 943 476 5919",
        "943 476 5919",
        "BSN 111222333",
        "111222333",
        "SSN 123 45 6789",
        "123 45 6789",
        "call 2025550143",
        "2025550143",
        "gmail message 18c2f3a4b5d6e7f8",
        "18c2f3a4b5d6e7f8",
        "calendar event 0a1b2c3d4e5f6g7h8i9j0k1l2m",
        "people/c1234567890123456789",
        "msg-f:1234567890123456789",
        "1//0abcdefghijklmnopqrstuvwxyz0123456",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "sk_live_abcdefghijklmnop1234",
        "ya29.abcdefghijklmnopqrstuvwxyz",
        "AKIAABCDEFGHIJKLMNOP",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "xoxb-1234567890-abcdefghij",
        "password=Xy7#kLm9Qz",
        "2001:db8::1",
        "-----BEGIN RSA PRIVATE KEY-----",
        "hello",
        "Order 12-3456",
        "SSN 123-45-6789",
        "Dear Maria Garcia",
        "Thanks, Jan de Vries",
        "Hi there",
    ]
)


@settings(deadline=None)  # the first call compiles the scanner
@given(st.lists(_GATED_PIECES, max_size=6), st.sampled_from([" ", ", ", "\n"]))
def test_rules_left_out_by_their_needs_would_have_found_nothing(
    pieces: list[str], sep: str
) -> None:
    from troth.discovery.engine import default_scanner

    s = default_scanner()
    text = sep.join(pieces)
    full = s._variants[(1 << len(s._gate_sets)) - 1]
    assert full is not None
    pattern, hits = full
    # the same text passed with every rule, whatever its needs
    everything: list[tuple[int, int, str]] = []
    pos = 0
    while pos <= len(text):
        m = pattern.search(text, pos)
        if m is None:
            break
        hit = hits[m.lastgroup or ""]
        start, end = m.span(hit[2])
        span = s._span(hit, text, start, end)
        if span is None:
            out: list = []
            pos = s._after_rejected(text, m.start(), hit, out)
            everything += [(x.start, x.end, x.entity) for x in out]
        else:
            everything.append((span.start, span.end, span.entity))
            pos = m.end()
    assert [(x.start, x.end, x.entity) for x in s.scan(text)] == everything


def test_a_text_without_a_rules_needs_is_passed_without_the_rule() -> None:
    from troth.discovery.engine import default_scanner

    s = default_scanner()
    email = next(r for d in s.detectors for r in d.rules if r.name == "email.address")
    plain = s._variant(s._gate("call me back about order 12345"))
    assert plain is not None
    assert email.pattern not in plain[0].pattern
    with_at = s._variant(s._gate("write to jane@example.com"))
    assert with_at is not None
    assert email.pattern in with_at[0].pattern


@settings(deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=6, max_size=13),
    st.sampled_from([" ", "-", ""]),
)
@example("2079460958", " ")  # London
@example("3090182042", "")  # Berlin
@example("11442079460958", " ")  # 011: dialled abroad from North America
@example("0442079460958", " ")  # 00: dialled abroad from Europe
def test_phone_trunk_fast_path_agrees_with_the_parser(national: str, sep: str) -> None:
    import phonenumbers

    from troth.discovery.base import Candidate
    from troth.discovery.detectors.phone import PhoneDetector

    text = f"0{national[:3]}{sep}{national[3:]}"
    expected = False
    for region in PhoneDetector.regions:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
                expected = True
                break
        except phonenumbers.NumberParseException:
            continue
    rule = next(r for r in PhoneDetector.rules if r.name == "phone.national")
    got = PhoneDetector.validate(Candidate(f"call {text}", 5, 5 + len(text), rule))
    assert (got is not None) == expected, text


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from([1, 7, 33, 44, 49, 61, 31, 34, 39, 47, 81, 91, 262, 290, 599, 800, 979]),
    national=st.integers(min_value=0, max_value=10**13),
)
def test_phone_validity_is_the_librarys(code: int, national: int) -> None:
    """troth's precompiled validity check answers as ``phonenumbers.is_valid_number`` for any
    number, including country codes shared by several regions (+1, +7, +44) and non-geographic
    ones (+800, +979)."""
    import phonenumbers

    from troth.discovery.detectors.phone import _valid

    number = phonenumbers.PhoneNumber(country_code=code, national_number=national)
    assert _valid(number) == phonenumbers.is_valid_number(number)


def test_phone_validity_is_the_librarys_on_every_regions_examples() -> None:
    """The example number of every type of every region, and each with its last digit changed
    (some valid, some not): troth's check and the library's agree on all of them."""
    import phonenumbers

    from troth.discovery.detectors.phone import _valid

    seen = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for last in range(10):
                number = phonenumbers.PhoneNumber(
                    country_code=example.country_code,
                    national_number=example.national_number // 10 * 10 + last,
                    italian_leading_zero=example.italian_leading_zero,
                    number_of_leading_zeros=example.number_of_leading_zeros,
                )
                assert _valid(number) == phonenumbers.is_valid_number(number), (region, kind)
                seen += 1
    assert seen > 10_000


@settings(max_examples=500)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789 ", min_size=0, max_size=40))
def test_iban_check_is_iso_7064(value: str) -> None:
    """The mod-97 check against its definition: letters as 10..35, the first four moved last."""
    s = "".join(value.split()).upper()
    expected = len(s) >= 15 and int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1
    assert iban_ok(value) == expected

"""Each detector on a table of texts: what it must find, and near misses it must not."""

from __future__ import annotations

import pytest

from troth.discovery import DETECTORS, Scanner, scan
from troth.errors import UnknownPluginError

# (text, [(entity, value), ...]) — exactly these spans, nothing else
CASES: list[tuple[str, list[tuple[str, str]]]] = [
    # e-mail
    ("write to jane.doe@example.com today", [("EMAIL_ADDRESS", "jane.doe@example.com")]),
    ("a+b_c@mail.example.co.uk.", [("EMAIL_ADDRESS", "a+b_c@mail.example.co.uk")]),
    ("not an address: jane..doe@example.com", []),
    ("user@localhost has no domain", []),
    # phone
    ("call (202) 555-0143 now", [("PHONE_NUMBER", "(202) 555-0143")]),
    ("tel +44 20 7946 0958", [("PHONE_NUMBER", "+44 20 7946 0958")]),
    ("mobile: 2025550143", [("PHONE_NUMBER", "2025550143")]),
    ("ref 2025550143 in the log", []),  # a bare run of digits without a phone word
    ("order 2023-100452 shipped", []),
    ("build 10.0.19045.2364", []),
    # payment cards
    ("card 4111 1111 1111 1111 exp 12/29", [("CREDIT_CARD", "4111 1111 1111 1111")]),
    ("paid with 5500-0000-0000-0004", [("CREDIT_CARD", "5500-0000-0000-0004")]),
    ("amex 378282246310005", [("CREDIT_CARD", "378282246310005")]),
    ("card 4111 1111 1111 1112", []),  # Luhn fails
    ("tracking 9400111899223197428490", []),  # 22 digits
    ("mixed 4111-1111 1111-1111", []),  # two kinds of separators
    # IBAN
    ("IBAN GB82 WEST 1234 5698 7654 32", [("IBAN_CODE", "GB82 WEST 1234 5698 7654 32")]),
    ("to DE89370400440532013000 please", [("IBAN_CODE", "DE89370400440532013000")]),
    ("IBAN GB82 WEST 1234 5698 7654 33", []),  # mod 97 fails
    ("NL91ABNA041716430", []),  # one character short for NL
    # IP
    ("login from 192.168.10.23", [("IP_ADDRESS", "192.168.10.23")]),
    ("peer 2001:db8::8a2e:370:7334", [("IP_ADDRESS", "2001:db8::8a2e:370:7334")]),
    ("version 1.2.3.4 released", []),
    ("v4.2.1.0", []),
    ("at 12:30:45 today", []),
    ("mac 00:1a:2b:3c:4d:5e", []),
    ("999.1.1.1", []),
    # dates of birth
    ("born 1985-03-12 in Lyon", [("DATE_OF_BIRTH", "1985-03-12")]),
    ("DOB: 12/03/1985", [("DATE_OF_BIRTH", "12/03/1985")]),
    ("date of birth 3 March 1985", [("DATE_OF_BIRTH", "3 March 1985")]),
    ("invoice date 2023-04-01", []),
    ("born 1985-13-45", []),
    ("born 2099-01-01", []),
    # postal codes
    ("London SW1A 2AA", [("POSTAL_CODE", "SW1A 2AA")]),
    ("Toronto, ON M5V 3L9", [("POSTAL_CODE", "M5V 3L9")]),
    ("Springfield, IL 62704", [("POSTAL_CODE", "62704")]),
    (
        "Keizersgracht 12, 1015 CJ Amsterdam",
        [("STREET_ADDRESS", "Keizersgracht 12"), ("POSTAL_CODE", "1015 CJ")],
    ),
    (
        "Hauptstraße 5, 10115 Berlin",
        [("STREET_ADDRESS", "Hauptstraße 5"), ("POSTAL_CODE", "10115")],
    ),
    # street addresses
    ("ship to 221B Baker Street, London", [("STREET_ADDRESS", "221B Baker Street")]),
    ("12 Main St", [("STREET_ADDRESS", "12 Main St")]),
    ("we have 3 Main Issues Way too many", []),  # the phrase goes on in lower case
    ("Weg 5", []),  # the street word alone is no street name
    ("we sold 10115 Licences", []),  # five digits before a capital, no address word
    ("XX 62704", []),  # not a US state
    # national ids
    ("SSN 123-45-6789", [("US_SSN", "123-45-6789")]),
    ("SSN 666-45-6789", []),  # area 666 is never issued
    ("SSN 123-00-6789", []),
    ("NHS number 943 476 5919", [("UK_NHS", "943 476 5919")]),
    ("NHS number 9434765918", []),  # mod 11 fails
    ("DNI 12345678Z", [("ES_NIF", "12345678Z")]),
    ("NIE X1234567L", [("ES_NIF", "X1234567L")]),
    ("DNI 12345678A", []),  # wrong letter
    ("BSN 111222333", [("NL_BSN", "111222333")]),
    ("BSN 111222334", []),  # 11-proof fails
    ("batch 111222333 done", []),  # valid 11-proof, but no context word
    # person names
    ("Dear Maria Garcia, thanks", [("PERSON", "Maria Garcia")]),
    ("Mr. Okonkwo called", [("PERSON", "Okonkwo")]),
    ("escalated by Emma Schmidt yesterday", [("PERSON", "Emma Schmidt")]),
    ("Dear Customer, your order", []),
    ("the Grace Period ends", []),
    ("New York office", []),
    # secrets and tokens
    ("key AKIAIOSFODNN7EXAMPLE", [("SECRET", "AKIAIOSFODNN7EXAMPLE")]),
    (
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        [("SECRET", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")],
    ),
    (
        "Authorization: Bearer ya29.a0AfH6SMBabcdefghijklmnopqrst",
        [("OAUTH_TOKEN", "ya29.a0AfH6SMBabcdefghijklmnopqrst")],
    ),
    ("password=Xy7!kq9Lm2", [("SECRET", "Xy7!kq9Lm2")]),
    ("password=changeme please", []),  # a word, not a secret
    ("-----BEGIN RSA PRIVATE KEY-----", [("SECRET", "-----BEGIN RSA PRIVATE KEY-----")]),
    # Google API shapes
    ("gmail message 18c2f3a4b5d6e7f8", [("GMAIL_ID", "18c2f3a4b5d6e7f8")]),
    ("threadId 18c2f3a4b5d6e7f9 archived", [("GMAIL_ID", "18c2f3a4b5d6e7f9")]),
    ("commit 18c2f3a4b5d6e7f8", []),  # a hex id without a Gmail word
    ("people/c1234567890123456789", [("GOOGLE_CONTACT", "people/c1234567890123456789")]),
    (
        "calendar event 4k2j3h5g6f7d8s9a0q1u2e3r4t",
        [("GOOGLE_CALENDAR_EVENT", "4k2j3h5g6f7d8s9a0q1u2e3r4t")],
    ),
    (
        "refresh 1//0gabcdefghijklmnopqrstuvwxyz0123456",
        [("GOOGLE_REFRESH_TOKEN", "1//0gabcdefghijklmnopqrstuvwxyz0123456")],
    ),
    # UUIDs and hashes are nothing
    ("request 123e4567-e89b-12d3-a456-426614174000 failed", []),
    ("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_detector_table(text: str, expected: list[tuple[str, str]]) -> None:
    found = [(s.entity, s.value(text)) for s in scan(text)]
    assert found == expected


def test_every_span_says_its_rule_category_and_confidence() -> None:
    text = "Dear Maria Garcia, card 4111 1111 1111 1111, call (202) 555-0143"
    spans = scan(text)
    assert [s.rule for s in spans] == ["name.cue", "card.grouped", "phone.national"]
    assert [s.category for s in spans] == [
        "user.name",
        "user.financial.credit_card",
        "user.contact.phone_number",
    ]
    assert all(0.5 <= s.confidence <= 1.0 for s in spans)


def test_context_word_raises_confidence() -> None:
    plain = scan("ref 4111 1111 1111 1111")[0]
    near = scan("credit card 4111 1111 1111 1111")[0]
    assert near.confidence > plain.confidence


def test_rejected_candidate_does_not_hide_another() -> None:
    # a 10-digit run that passes the NHS check but has no NHS word is a phone number
    text = "call 943 476 5919"
    assert [(s.entity, s.rule) for s in scan(text)] == [("PHONE_NUMBER", "phone.national")]


def test_scanner_with_chosen_detectors_only() -> None:
    s = Scanner(["email"])
    assert [x.entity for x in s.scan("jane@example.com 4111 1111 1111 1111")] == ["EMAIL_ADDRESS"]


def test_unknown_detector_lists_valid_ones() -> None:
    with pytest.raises(UnknownPluginError) as err:
        Scanner(["emial"])
    assert "email" in str(err.value)


def test_registry_has_every_builtin() -> None:
    assert set(DETECTORS.names()) >= {
        "email",
        "phone",
        "payment_card",
        "iban",
        "ip_address",
        "date_of_birth",
        "postal_code",
        "national_id",
        "person_name",
        "secret",
        "google",
        "street_address",
    }


def test_one_pattern_for_all_detectors() -> None:
    s = Scanner()
    rules = sum(len(d.rules) for d in s.detectors)
    assert rules > 30
    # every rule is an alternative of the one pattern
    for det in s.detectors:
        for rule in det.rules:
            assert rule.pattern in s.pattern

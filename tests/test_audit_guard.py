"""The personal-data guard: the ledger holds ids, counts and keyed hashes, never personal data."""

from __future__ import annotations

from typing import Any

import pytest

from troth.audit import Ledger, keyed_hash
from troth.audit.guard import check_data, is_personal_key, looks_personal
from troth.errors import AuditError
from troth.store import open_store

FIX = "troth.audit.keyed_hash(secret, value)"


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("ada@example.com", "an e-mail address"),
        ("contact: Ada.Lovelace+x@mail.example.co.uk", "an e-mail address"),
        ("+49 30 1234567", "a phone number"),
        ("+14155552671", "a phone number"),
        ("(555) 123-4567", "a phone number"),
        ("555-123-4567", "a phone number"),
        ("030 123 45678", "a phone number"),
    ],
)
def test_personal_values_are_recognised(value: str, what: str) -> None:
    assert looks_personal(value) == what


@pytest.mark.parametrize(
    "value",
    ["req-42", "h:" + "ab" * 32, "2026-01-31", "2026-01-31T12:00:00.123456+00:00", "v1.2.3",
     "12345", "consent.given", "@handle", "orders", "a@b", "550e8400-e29b-41d4-a716-446655440000"],
)  # fmt: skip
def test_near_misses_are_allowed(value: str) -> None:
    assert looks_personal(value) is None


@pytest.mark.parametrize(
    "key",
    ["email", "e_mail", "userEmail", "phone", "phone_number", "name", "first_name", "lastName",
     "address", "delivery_address", "ip", "client_ip", "password", "new_password", "ssn",
     "date_of_birth", "username", "street", "credit_card_number"],
)  # fmt: skip
def test_personal_keys_are_recognised(key: str) -> None:
    assert is_personal_key(key)


@pytest.mark.parametrize(
    "key",
    ["email_hash", "customer_id", "phone_count", "table_name", "rows", "purpose", "request_id",
     "column", "policy_name", "ip_hash", "emails_count", "address_ref", "version"],
)  # fmt: skip
def test_safe_keys_are_allowed(key: str) -> None:
    assert not is_personal_key(key)


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        ({"email": "h:abc"}, "data.email", "key 'email' in data"),
        ({"who": {"phone": 1}}, "data.who.phone", "key 'phone' in data.who"),
        ({"note": "write to ada@example.com"}, "data.note", "looks like an e-mail address"),
        ({"ids": ["r1", "+44 20 7946 0958"]}, "data.ids[1]", "looks like a phone number"),
        ({"f": float("nan")}, "data.f", "not a finite number"),
        ({"b": b"bytes"}, "data.b", "is a bytes, not plain JSON"),
        ({1: "x"}, "data", "non-text key"),
    ],
)
def test_bad_data_is_rejected_with_where_and_fix(data: Any, where: str, message: str) -> None:
    with pytest.raises(AuditError) as info:
        check_data(data, kind="consent.given")
    assert info.value.where == f"audit entry {where}"
    assert message in info.value.message
    line = info.value.one_line()
    assert "\n" not in line
    for v in ("ada@example.com", "7946"):
        assert v not in line  # the message never repeats the personal value


def test_the_fix_names_keyed_hash() -> None:
    with pytest.raises(AuditError) as info:
        check_data({"customer_email": "x"}, kind="dsr.transition")
    assert FIX in (info.value.fix or "")
    check_data({"customer_email_hash": keyed_hash(b"k" * 32, "ada@example.com")}, kind="x.y")


def test_non_object_data_is_rejected() -> None:
    with pytest.raises(AuditError, match="must be a JSON object"):
        check_data(["a"], kind="x.y")


def test_ledger_refuses_personal_data_in_data_actor_and_subject(sqlite_url: str) -> None:
    ledger = Ledger(open_store(sqlite_url))
    with pytest.raises(AuditError, match="key 'email'"):
        ledger.append("consent.given", {"email": "ada@example.com"}, actor="cli")
    with pytest.raises(AuditError, match=r"subject of .* looks like an e-mail"):
        ledger.append("consent.given", {}, actor="cli", subject="ada@example.com")
    with pytest.raises(AuditError, match=r"actor .* looks like a phone number"):
        ledger.append("consent.given", {}, actor="+49 30 1234567")
    assert ledger.head().seq == 0

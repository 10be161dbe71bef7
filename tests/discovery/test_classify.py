"""Column classification from name, type and values."""

from __future__ import annotations

from troth.discovery.classify import ColumnEvidence, classify, reads_values


def _ev(values: list[object], context: str = "") -> ColumnEvidence:
    ev = ColumnEvidence(context=context)
    for v in values:
        ev.add(v)
    return ev


def test_values_decide_when_the_name_says_nothing() -> None:
    c = classify("contact", "varchar(255)", _ev([f"u{i}@example.com" for i in range(10)]))
    assert (c.category, c.evidence) == ("user.contact.email", "values")
    assert c.confidence == 1.0
    assert c.personal


def test_name_and_values_agree() -> None:
    c = classify("mobile", "varchar(40)", _ev(["(202) 555-0143", "+44 20 7946 0958", None, ""]))
    assert (c.category, c.evidence) == ("user.contact.phone_number", "name+values")
    assert c.sampled == 2


def test_name_alone_when_values_show_nothing() -> None:
    c = classify("email", "varchar(255)", _ev([]))
    assert (c.category, c.evidence, c.confidence) == ("user.contact.email", "name", 0.6)


def test_a_name_personal_only_on_people_tables_is_weak_without_values() -> None:
    c = classify("name", "varchar(80)", _ev(["Germany", "Thailand", "Embargoed Land"]))
    assert c.category == "user.name"
    assert c.confidence < 0.5
    assert not c.personal


def test_free_text_lists_identifiers_found_inside() -> None:
    notes = [
        "Customer called about the invoice and asked us to call back tomorrow morning",
        "Refund to card 4111 1111 1111 1111 approved by the team lead after review",
        "Please send the licence again to jane.doe@example.com, the old one expired",
    ]
    c = classify("remarks", "text", _ev(notes))
    assert c.free_text
    assert c.category == "user.content.private"
    assert set(c.personal_in_values) == {"user.financial.credit_card", "user.contact.email"}


def test_one_stray_value_does_not_make_a_structured_column_personal() -> None:
    values = ["pending"] * 40 + ["(202) 555-0143"]
    c = classify("status", "varchar(20)", _ev(values))
    assert c.personal_in_values == []
    assert not c.personal


def test_column_name_is_context_for_ids_that_need_it() -> None:
    ids = [f"18c2f3a4b5d6{i:04x}" for i in range(5)]
    assert classify("ref", "varchar(20)", _ev(ids)).entities == {}
    c = classify("thread_id", "varchar(20)", _ev(ids, context="thread id"))
    assert c.entities == {"GMAIL_ID": 5}
    assert c.restricted == ["GMAIL_ID"]


def test_times_numbers_and_booleans_are_not_read() -> None:
    assert not reads_values("timestamp")
    assert not reads_values("numeric(10, 2)")
    assert not reads_values("boolean")
    assert reads_values("varchar(255)")
    assert reads_values("integer")
    assert reads_values(None)

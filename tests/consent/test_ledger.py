"""The consent ledger on SQLite and PostgreSQL: events, state, history, replay, audit, errors."""

from __future__ import annotations

import random

import pytest

from troth.audit import Ledger, verify
from troth.consent import ConsentLedger, EventKind, NewEvent, UnknownSubjectError
from troth.errors import ConsentError, UnknownNameError

ADA = "ada.lovelace@example.test"


def test_md_3_marketing_permission_given_then_withdrawn_with_the_same_call(
    md_ledger: ConsentLedger,
) -> None:
    given = md_ledger.record(
        NewEvent(ADA, "marketing_email", "given", event_time="2026-01-01T10:00:00Z")
    )
    assert given.channel == "notification_desk"
    assert md_ledger.state(ADA)["marketing_email"].given
    md_ledger.record(
        NewEvent(ADA, "marketing_email", "withdrawn", event_time="2026-01-02T10:00:00Z")
    )
    state = md_ledger.state(ADA)["marketing_email"]
    assert state.kind is EventKind.withdrawn
    assert [e.kind for e in md_ledger.history(ADA)] == [EventKind.given, EventKind.withdrawn]


def test_subject_stored_as_keyed_hash_never_raw(md_ledger: ConsentLedger) -> None:
    ev = md_ledger.record(
        NewEvent(ADA, "marketing_email", "given", ip="203.0.113.7", user_agent="UA/1")
    )
    assert ev.subject.startswith("h:")
    assert "@" not in ev.subject
    assert ev.ip_hash is not None
    assert ev.ip_hash.startswith("h:")
    assert md_ledger.subject_ref(" Ada.Lovelace@Example.test ") == ev.subject
    with md_ledger.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM consent_event"))
        audit = " ".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM audit_entry"))
    for text in (dump, audit):
        assert ADA not in text
        assert "203.0.113.7" not in text


def test_every_change_goes_to_the_audit_ledger(md_ledger: ConsentLedger) -> None:
    ev = md_ledger.record(NewEvent(ADA, "marketing_email", "given"))
    tail = Ledger(md_ledger.engine).tail(5)
    assert tail[-1].kind == "consent.given"
    assert tail[-1].subject == ev.subject
    assert ev.event_uid in tail[-1].data_json
    assert verify(md_ledger.engine).ok


def test_replayed_and_out_of_order_events_end_in_one_state(md_ledger: ConsentLedger) -> None:
    events = [
        NewEvent(f"user{i % 7}@example.test", "marketing_email", kind, event_time=t)
        for i, (kind, t) in enumerate(
            [
                ("given", "2026-01-01T00:00:00Z"),
                ("withdrawn", "2026-01-03T00:00:00Z"),
                ("given", "2026-01-02T00:00:00Z"),
                ("refused", "2026-01-03T00:00:00Z"),
            ]
            * 7
        )
    ]
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    md_ledger.record_many(shuffled)
    md_ledger.record_many(events)  # replay: stored once
    assert md_ledger.count() == len(events)
    states = {i: md_ledger.state(f"user{i}@example.test") for i in range(7)}
    # expected: fold in time order by hand, ties broken by the fixed kind rank
    for i, st in states.items():
        mine = [e for e in events if e.subject == f"user{i}@example.test"]
        latest_time = max(str(e.event_time) for e in mine)
        at_latest = {str(e.kind) for e in mine if e.event_time == latest_time}
        rank = ["given", "expired", "refused", "withdrawn"]
        assert st["marketing_email"].kind.value == max(at_latest, key=rank.index)


def test_same_time_tie_is_deterministic(md_ledger: ConsentLedger) -> None:
    t = "2026-03-01T00:00:00Z"
    md_ledger.record(NewEvent(ADA, "marketing_email", "withdrawn", event_time=t))
    md_ledger.record(NewEvent(ADA, "marketing_email", "given", event_time=t))
    assert md_ledger.state(ADA)["marketing_email"].kind is EventKind.withdrawn


def test_unknown_consent_id_names_it_and_lists_valid_ones(md_ledger: ConsentLedger) -> None:
    with pytest.raises(UnknownNameError) as info:
        md_ledger.record(NewEvent(ADA, "marketing_mail", "given"))
    msg = str(info.value)
    assert "'marketing_mail'" in msg
    assert "marketing_email" in msg


def test_unknown_subject_is_an_error_listing_consent_ids(md_ledger: ConsentLedger) -> None:
    with pytest.raises(UnknownSubjectError) as info:
        md_ledger.state("nobody@example.test")
    msg = str(info.value)
    assert "marketing_email" in msg
    assert "nobody@" not in msg


def test_bad_kind_time_and_old_notice_rejected(md_ledger: ConsentLedger) -> None:
    with pytest.raises(ConsentError, match="kind"):
        md_ledger.record(NewEvent(ADA, "marketing_email", "maybe"))
    with pytest.raises(ConsentError, match="time zone"):
        md_ledger.record(NewEvent(ADA, "marketing_email", "given", event_time="2026-01-01T00:00"))
    with pytest.raises(ConsentError, match="notice version"):
        md_ledger.record(NewEvent(ADA, "marketing_email", "given", notice_version="0.9"))


def test_record_many_batch(md_ledger: ConsentLedger) -> None:
    batch = [NewEvent(f"u{i}@example.test", "marketing_email", "given") for i in range(300)]
    out = md_ledger.record_many(batch)
    assert len(out) == 300
    assert md_ledger.count() == 300
    assert len(md_ledger.all_states(["marketing_email"])) == 300


def test_concurrent_writers_lose_nothing_and_chain_verifies(md_ledger: ConsentLedger) -> None:
    import threading

    def write(t: int) -> None:
        for i in range(10):
            md_ledger.record(NewEvent(f"t{t}-{i}@example.test", "marketing_email", "given"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert md_ledger.count() == 160
    assert verify(md_ledger.engine).ok
    assert Ledger(md_ledger.engine).head().seq == 160


def test_expire_due_records_expired_after_expires_after(md_ledger: ConsentLedger) -> None:
    from datetime import UTC, datetime

    from troth.policy.duration import parse_duration

    consent = md_ledger.consents["marketing_email"]
    md_ledger.consents["marketing_email"] = consent.model_copy(
        update={"expires_after": parse_duration("1 year")}
    )
    md_ledger.record(NewEvent(ADA, "marketing_email", "given", event_time="2024-01-01T00:00:00Z"))
    md_ledger.record(NewEvent("bo@example.test", "marketing_email", "given"))
    assert md_ledger.expire_due(datetime(2026, 1, 1, tzinfo=UTC)) == 1
    assert md_ledger.state(ADA)["marketing_email"].kind is EventKind.expired
    assert md_ledger.state("bo@example.test")["marketing_email"].given
    assert md_ledger.expire_due(datetime(2026, 1, 1, tzinfo=UTC)) == 0

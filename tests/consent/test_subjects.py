"""Property tests of troth.consent.subjects and event times: what troth takes as a subject (its own
hash of an identifier, or a token it issued) and which event times it accepts, for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from troth.consent.events import TimeWindow, parse_time
from troth.consent.subjects import (
    REF,
    SubjectRef,
    issue_token,
    issue_visitor,
    read_token,
    read_visitor,
    subject_ref,
)
from troth.errors import ConsentError

KEY = b"subjects-secret-0123456789abcdef"
OTHER = b"another-secret-0123456789abcdef0"
REFS = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "h:" + h)


@given(st.text(max_size=400))
def test_any_text_is_hashed_by_troth_or_refused(text: str) -> None:
    try:
        ref = subject_ref(KEY, text)
    except ConsentError:
        return
    assert REF.match(ref)
    assert ref != text.strip().lower()  # never the input itself
    assert ref == subject_ref(KEY, f" {text}\t")  # trimmed
    assert ref != subject_ref(OTHER, text)


@given(REFS)
def test_ref_shaped_text_is_refused_in_any_case(ref: str) -> None:
    for text in (ref, ref.upper(), f"  {ref} "):
        with pytest.raises(ConsentError, match="subject_token"):
            subject_ref(KEY, text)
    assert subject_ref(KEY, SubjectRef(ref)) == ref


@given(REFS, st.data())
def test_tokens_round_trip_and_any_change_is_refused(ref: str, data: st.DataObject) -> None:
    token = issue_token(KEY, ref)
    assert read_token(KEY, token) == SubjectRef(ref)
    with pytest.raises(ConsentError):
        read_token(OTHER, token)
    i = data.draw(st.integers(0, len(token) - 1))
    ch = data.draw(st.characters(codec="ascii").filter(lambda c: c != token[i]))
    with pytest.raises(ConsentError):
        read_token(KEY, token[:i] + ch + token[i + 1 :])


@given(st.text(max_size=80))
def test_only_visitor_ids_troth_issued_are_read(cookie: str) -> None:
    assert read_visitor(KEY, cookie) is None
    issued, subject = issue_visitor(KEY)
    assert read_visitor(KEY, issued) == subject
    assert read_visitor(OTHER, issued) is None


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@given(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=14))]))
    | st.datetimes()
    | st.text(max_size=40)
)
def test_any_event_time_is_accepted_in_the_window_or_refused(moment: datetime | str) -> None:
    window = TimeWindow()
    try:
        parsed = parse_time(moment, NOW)
        window.check(parsed, NOW)
    except ConsentError:
        return
    assert parsed.tzinfo is UTC
    assert NOW - window.past <= parsed <= NOW + window.future


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00", "2026-06-01T12:00:00"]
)
def test_edge_times_are_consent_errors(text: str) -> None:
    with pytest.raises(ConsentError):
        TimeWindow().check(parse_time(text, NOW), NOW)

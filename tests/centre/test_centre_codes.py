"""One-time codes and rate limits in troth's state DB (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from troth.centre.codes import MAX_TRIES, Codes, Outcome
from troth.centre.ratelimit import Limit, hit
from troth.store import open_store

KEY = b"k" * 32


def _codes(url: str) -> Codes:
    return Codes(open_store(url), KEY)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_right_code_unlocks_its_payload_once(state_url: str) -> None:
    codes = _codes(state_url)
    code_id, code = codes.issue("request", "h:x", {"kind": "access"})
    got = codes.check(code_id, "request", code)
    assert got.outcome is Outcome.ok
    assert got.payload == {"kind": "access"}
    assert codes.check(code_id, "request", code).outcome is Outcome.locked  # single use
    with codes.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT payload FROM centre_code")).scalar_one() == ""


def test_code_and_payload_are_not_stored_in_clear(state_url: str) -> None:
    codes = _codes(state_url)
    code_id, code = codes.issue("request", "h:x", {"identity": ["email", "ada@example.com"]})
    with codes.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM centre_code")).mappings().one()
    text = " ".join(str(v) for v in row.values())
    assert code not in text.replace(code_id, "")
    assert "ada@example.com" not in text
    assert row["code_hash"].startswith("h:")


def test_wrong_code_counts_down_then_locks(state_url: str) -> None:
    codes = _codes(state_url)
    code_id, code = codes.issue("request", "h:x", {})
    for left in range(MAX_TRIES - 1, 0, -1):
        got = codes.check(code_id, "request", _wrong(code))
        assert (got.outcome, got.tries_left) == (Outcome.wrong, left)
    assert codes.check(code_id, "request", _wrong(code)).outcome is Outcome.locked
    # too many tries: even the right code no longer works
    assert codes.check(code_id, "request", code).outcome is Outcome.locked


def test_expired_code_is_refused(state_url: str) -> None:
    codes = _codes(state_url)
    past = datetime.now(UTC) - timedelta(minutes=16)
    code_id, code = codes.issue("request", "h:x", {}, now=past)
    assert codes.check(code_id, "request", code).outcome is Outcome.expired
    assert codes.purge() == 1


def test_code_of_another_purpose_or_unknown_id_unlocks_nothing(state_url: str) -> None:
    codes = _codes(state_url)
    code_id, code = codes.issue("preferences", "h:x", {})
    assert codes.check(code_id, "request", code).outcome is Outcome.unknown
    assert codes.check("0" * 32, "preferences", code).outcome is Outcome.unknown


def test_rate_limit_is_shared_through_the_state_db(state_url: str) -> None:
    first, second = open_store(state_url), open_store(state_url)  # two "processes"
    limit = Limit(3, 3600)
    moment = 1_000_000.0
    results = [hit(e, "id:h:a", limit, now=moment) for e in (first, second, first, second)]
    assert results == [True, True, True, False]
    assert hit(first, "id:h:b", limit, now=moment)  # another bucket
    assert hit(second, "id:h:a", limit, now=moment + 3600)  # the next window

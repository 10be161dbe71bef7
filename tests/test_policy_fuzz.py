"""Property tests: the loader never fails with anything but a located TrothError."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.errors import PolicyError
from troth.policy.checks import run_checks
from troth.policy.duration import Duration, parse_duration
from troth.policy.loader import load_policy

CLEAN = (Path(__file__).parent / "fixtures" / "policy_clean.yaml").read_text()
LINES = CLEAN.splitlines()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_or_policy_error(text: str) -> None:
    try:
        doc = load_policy("fuzz/policy.yaml", text=text)
    except PolicyError as exc:
        line = exc.one_line()
        assert "\n" not in line
        assert line.startswith("fuzz/policy.yaml")
        return
    run_checks(doc)  # a policy that loads can always be checked


edits = st.lists(
    st.tuples(
        st.integers(0, len(LINES) - 1),
        st.sampled_from(["delete", "dup", "indent", "dedent", "garble", "tab", "swap"]),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
    ),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(edits)
def test_mutated_fixture_never_crashes(changes: list[tuple[int, str, str]]) -> None:
    lines = list(LINES)
    for idx, op, junk in changes:
        i = idx % len(lines)
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        elif op == "garble":
            cut = len(lines[i]) // 2
            lines[i] = lines[i][:cut] + junk + lines[i][cut:]
        elif op == "tab":
            lines[i] = "\t" + lines[i].lstrip()
        else:
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            lines = [""]
    _load_or_policy_error("\n".join(lines) + "\n")


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
trees = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4)
    ),
    max_leaves=30,
)
policy_keys = st.sampled_from(
    ["policy", "organisation", "purposes", "consents", "retention", "recipients", "cookies", "x"]
)


@FUZZ
@given(st.dictionaries(policy_keys, trees, max_size=6))
def test_random_documents_never_crash(doc: dict[str, object]) -> None:
    _load_or_policy_error(yaml.safe_dump(doc))


@FUZZ
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    _load_or_policy_error(text)


durations = st.builds(
    Duration, years=st.integers(0, 50), months=st.integers(0, 30), days=st.integers(0, 400)
)


@given(durations)
def test_duration_text_and_iso_round_trip(d: Duration) -> None:
    if d == Duration():
        return
    assert parse_duration(str(d)) == d
    assert parse_duration(d.iso()) == d


@given(durations, st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_duration_before_goes_back_in_calendar_time(d: Duration, moment: datetime) -> None:
    cutoff = d.before(moment)
    assert cutoff <= moment
    # years and months move the calendar month; the day is clamped to the month's length
    months_back = (moment.year - cutoff.year) * 12 + moment.month - cutoff.month
    if d.days == 0:
        assert months_back == d.years * 12 + d.months

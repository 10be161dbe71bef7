"""Loading a policy: every kind of broken input gets file:line:col, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.errors import PolicyError, PolicyLoadError
from troth.policy.duration import Duration, parse_duration
from troth.policy.loader import load_policy

FIXTURE = Path(__file__).parent / "fixtures" / "policy_clean.yaml"
CLEAN = FIXTURE.read_text()


def _problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    exc = err.value
    return exc.lines() if isinstance(exc, PolicyLoadError) else [exc.one_line()]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_clean_fixture_loads_from_file_or_folder(tmp_path: Path) -> None:
    doc = load_policy(FIXTURE)
    assert doc.policy.policy.id == "shop"
    (tmp_path / "policy.yaml").write_text(CLEAN)
    assert load_policy(tmp_path).policy.organisation.name == "Example Shop"


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = CLEAN.replace("    legal_basis: contract", "    legal_basys: contract")
    [msg] = _problems(text, tmp_path)
    line = _line_of(text, "legal_basys")
    assert f"policy.yaml:{line}:5:" in msg
    assert "unknown key 'legal_basys' in purposes[0]" in msg
    assert "did you mean 'legal_basis'?" in msg
    assert "fix: valid keys here:" in msg


def test_wrong_type_names_field_and_fix(tmp_path: Path) -> None:
    text = CLEAN.replace("jurisdictions: [gdpr]", "jurisdictions: gdpr")
    [msg] = _problems(text, tmp_path)
    assert f"policy.yaml:{_line_of(text, 'jurisdictions: gdpr')}:" in msg
    assert "jurisdictions" in msg
    assert "fix: write a YAML list" in msg


def test_bad_enum_value_with_suggestion(tmp_path: Path) -> None:
    text = CLEAN.replace("legal_basis: contract", "legal_basis: contrat")
    [msg] = _problems(text, tmp_path)
    assert "purposes[0].legal_basis: 'contrat' is not valid; did you mean 'contract'?" in msg
    assert "fix: use one of: consent, contract" in msg


def test_bad_indentation_points_at_the_line(tmp_path: Path) -> None:
    text = CLEAN.replace("  legal_name: Example Shop Ltd", "    legal_name: Example Shop Ltd")
    [msg] = _problems(text, tmp_path)
    assert "invalid YAML" in msg
    assert f"policy.yaml:{_line_of(text, 'legal_name')}:" in msg
    assert "fix:" in msg
    assert "indent" in msg


def test_tab_indentation(tmp_path: Path) -> None:
    text = CLEAN.replace("  legal_name: Example Shop Ltd", "\tlegal_name: Example Shop Ltd")
    [msg] = _problems(text, tmp_path)
    assert "tabs" in msg


def test_unknown_taxonomy_key_lists_nearest(tmp_path: Path) -> None:
    text = CLEAN.replace(
        "use: marketing.communications.email", "use: marketing.comunications.email"
    )
    [msg] = _problems(text, tmp_path)
    assert "unknown data use 'marketing.comunications.email' at purposes[1].use" in msg
    assert "marketing.communications.email" in msg.split("fix:")[1]


def test_custom_taxonomy_key_must_extend_existing(tmp_path: Path) -> None:
    ok = (
        CLEAN
        + "taxonomy:\n  data_categories:\n    - {key: user.behavior.chat_history, name: Chats}\n"
    )
    (tmp_path / "policy.yaml").write_text(ok)
    doc = load_policy(tmp_path / "policy.yaml")
    assert ("data_categories", "user.behavior.chat_history") in doc.taxonomy
    bad = CLEAN + "taxonomy:\n  data_categories:\n    - {key: usr.chat, name: Chats}\n"
    [msg] = _problems(bad, tmp_path)
    assert "must extend an existing key" in msg
    assert f":{_line_of(bad, 'usr.chat')}:" in msg


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    text = CLEAN.replace(
        "  - id: newsletter\n    name: Newsletter", "  - id: order_delivery\n    name: Newsletter"
    )
    msgs = _problems(text, tmp_path)
    dup = next(m for m in msgs if "duplicate purpose id 'order_delivery'" in m)
    assert f"first defined at line {_line_of(text, 'id: order_delivery')}" in dup


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    text = CLEAN.replace("  name: Example Shop\n", "  name: Example Shop\n  name: Other\n")
    [msg] = _problems(text, tmp_path)
    assert "duplicate key 'name'" in msg
    assert "first at line" in msg


def test_missing_required_key(tmp_path: Path) -> None:
    text = CLEAN.replace('  version: "2.0.0"\n  effective', "  effective")
    [msg] = _problems(text, tmp_path)
    assert "missing required key 'version' in policy" in msg
    assert "fix: add `version:`" in msg


def test_bad_duration_lists_valid_forms(tmp_path: Path) -> None:
    text = CLEAN.replace("period: 2 years", "period: 2 yeras")
    [msg] = _problems(text, tmp_path)
    assert "'2 yeras' is not a duration" in msg
    assert "'2 years'" in msg
    assert f":{_line_of(text, '2 yeras')}:" in msg


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = CLEAN.replace("legal_basis: contract", "legal_basis: contrat").replace(
        "kind: order_form", "kind: order_from"
    )
    msgs = _problems(text, tmp_path)
    assert len(msgs) == 2


def test_yaml_bomb_is_refused(tmp_path: Path) -> None:
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    [msg] = _problems("\n".join(bomb) + "\n", tmp_path)
    assert "alias bomb" in msg
    assert "fix: remove the nested anchors and aliases" in msg


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    [msg] = _problems("a: &a\n  b: *a\n", tmp_path)
    assert "recursive alias" in msg or "invalid YAML" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "must be a YAML mapping"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("a: [1, 2\n", "invalid YAML"),
        ("{a: 1}: 2\n", "plain string"),
    ],
)
def test_not_a_policy(text: str, expected: str, tmp_path: Path) -> None:
    [msg] = _problems(text, tmp_path)
    assert expected in msg
    assert "policy.yaml" in msg


def test_missing_file_and_folder(tmp_path: Path) -> None:
    [msg] = _problems_path(tmp_path / "nope.yaml")
    assert "file not found" in msg
    [msg] = _problems_path(tmp_path)
    assert "file not found" in msg
    assert str(tmp_path / "policy.yaml") in msg


def _problems_path(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    return [err.value.one_line()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 years", Duration(years=2)),
        ("18 months", Duration(months=18)),
        ("1 year 6 months", Duration(years=1, months=6)),
        ("6 weeks", Duration(days=42)),
        ("30 days", Duration(days=30)),
        ("P2Y6M", Duration(years=2, months=6)),
        ("P30D", Duration(days=30)),
        ("1 year, 2 days", Duration(years=1, days=2)),
    ],
)
def test_duration_forms(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["2 yeras", "two years", "P", "", "years 2", "2", True, 3.5])
def test_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError, match=r"valid forms|expected a duration"):
        parse_duration(text)

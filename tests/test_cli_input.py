"""Issue 9, point 9: hostile CLI input is a located one-line error with exit 2, never a hang, an
out-of-memory or an "internal error": impossible dates, FIFOs, devices, huge error lists, NULs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troth.cli import main
from troth.errors import TrothError
from troth.policy.loader import load_policy

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "tests" / "fixtures" / "policy_clean.yaml"
MD = ROOT / "examples" / "mydigisoft"


def _policy(tmp_path: Path, old: str, new: str) -> Path:
    text = CLEAN.read_text()
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


@pytest.mark.parametrize(
    "value", ["2026-02-30", "!!timestamp 2026-13-45", "2026-04-31", "!!int 0xZZ"]
)
def test_9_impossible_dates_are_located_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    text = CLEAN.read_text()
    effective = next(ln for ln in text.splitlines() if ln.strip().startswith("effective:"))
    path = _policy(tmp_path, effective, effective.split(":")[0] + ": " + value)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert f"{path}:{_line_of(path, value)}:" in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.timeout(30)
def test_9_a_fifo_is_refused_without_hanging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)
    assert main(["check", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "not a regular file" in err
    assert str(fifo) in err
    assert main(["check", str(tmp_path)]) == 2  # the folder's policy.yaml is that FIFO


@pytest.mark.timeout(60)
def test_9_a_device_is_refused_before_reading(tmp_path: Path) -> None:
    """/dev/zero would be read until memory runs out; the child has 1 GiB of address space."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from troth.cli import main\n"
        "sys.exit(main(['check', '/dev/zero']))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),  # the troth under test, as pytest's own pythonpath
        "TROTH_HOME": str(tmp_path),
        "TROTH_SECRET_KEY": "x" * 32,
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=50,
    )
    assert done.returncode == 2, done.stderr
    assert "/dev/zero" in done.stderr
    assert "not a regular file" in done.stderr


def test_9_size_is_checked_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "policy.yaml"
    with big.open("wb") as fh:  # sparse: the size says 40 MB, nothing needs reading
        fh.truncate(40 * 1024 * 1024)
    assert main(["check", str(big)]) == 2
    assert "larger than 32 MB" in capsys.readouterr().err


def test_9_error_lists_are_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = "".join(f"  unknown_key_{i}: 1\n" for i in range(5000))
    path = _policy(tmp_path, "policy:\n", "policy:\n" + keys)
    assert main(["check", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 51
    assert "unknown_key_0" in lines[0]
    assert "and 4950 more problems" in lines[-1]


def test_9_nul_in_an_identity_is_exit_2(
    state_url: str, troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in (["--email", "ada\x00@example.com"], ["--identity", "customer_no=C\x001"]):
        code = main(["dsr", "access", str(MD), "--db", state_url, *option])
        assert code == 2
        err = capsys.readouterr().err
        assert "NUL" in err
        assert option[0] in err
        assert "ada" not in err


def test_9_non_utf8_identity_bytes_are_exit_2(
    troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape)."""
    assert main(["dsr", "access", str(MD), "--email", "ada\udcff@example.com"]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_3_identity_that_looks_hashed_is_refused(
    troth_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dsr", "restrict", str(MD), "--user-id", "h:" + "ab" * 32]) == 2
    err = capsys.readouterr().err
    assert "--user-id" in err
    assert "keyed hash" in err


DATEISH = st.from_regex(
    r"\d{1,5}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d{1,9})?)?( ?(Z|[+-]\d{1,2}(:\d\d)?))?",
    fullmatch=True,
)
TAGS = st.sampled_from(["", "!!timestamp ", "!!int ", "!!float ", "!!bool ", "!!binary ", "!!str "])
PLAIN = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(tag=TAGS, value=DATEISH | PLAIN)
def test_9_any_scalar_loads_or_is_a_located_error(tag: str, value: str) -> None:
    """Whatever the tag and text of a value, loading gives a policy or troth's own error."""
    text = CLEAN.read_text()
    effective = next(ln for ln in text.splitlines() if ln.strip().startswith("effective:"))
    line = effective.split(":")[0] + ": " + tag + value
    where = "policy.yaml"
    try:
        load_policy("policy.yaml", text=text.replace(effective, line, 1))
    except TrothError as exc:  # any other exception fails the test
        where = exc.where or ""
    assert where.startswith("policy.yaml")

"""`troth consent import`: existing opt-ins enter the ledger with their original time and source,
and show in decisions; a bad row stops the import before anything is written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from troth.cli import main
from troth.config import Settings
from troth.consent import ConsentLedger
from troth.consent.decide import Decider
from troth.project import load_project
from troth.store import open_store

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "mydigisoft"
CSV = """subject,consent,state,time,source
ada@example.com,marketing_email,given,2024-03-01T10:00:00Z,newsletter-2024
grace@example.com,marketing_email,given,2023-01-01T08:00:00Z,
grace@example.com,marketing_email,withdrawn,2024-06-01T08:00:00+02:00,
"""


def _ledger(url: str) -> ConsentLedger:
    settings = Settings.from_env().with_database(url)
    policy = load_project(PROJECT).policy.policy
    return ConsentLedger(open_store(settings), policy, key=settings.secret_key)


def test_imported_opt_in_shows_in_decisions_with_its_time_and_source(
    troth_env: Path, state_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "optins.csv"
    path.write_text(CSV)
    args = ["consent", "import", str(PROJECT), "--csv", str(path), "--db", state_url]
    assert main([*args, "--dry-run", "--source", "shop-db"]) == 0
    assert _ledger(state_url).count() == 0  # dry run: nothing written
    assert main([*args, "--source", "shop-db"]) == 0
    assert "3 rows read, 3 events recorded" in capsys.readouterr().out
    ledger = _ledger(state_url)
    decider = Decider(ledger)
    assert decider.allows("ada@example.com", "marketing_email")
    assert not decider.allows("grace@example.com", "marketing_email")
    (ada,) = ledger.history("ada@example.com")
    assert (ada.event_time, ada.channel, ada.collection_point, ada.actor) == (
        "2024-03-01T10:00:00.000000+00:00",
        "import",
        "newsletter-2024",
        "import",
    )
    grace = ledger.history("grace@example.com")
    assert [e.collection_point for e in grace] == ["shop-db"] * 2
    assert datetime.fromisoformat(grace[1].event_time) == datetime.fromisoformat(
        "2024-06-01T06:00:00+00:00"
    )
    # the same file again records nothing twice
    assert main(args) == 0
    assert ledger.count() == 3
    kinds = [e.kind for e in ledger.audit.tail(10)]
    assert kinds.count("consent.imported") == 2


def test_a_bad_row_names_its_line_and_nothing_is_recorded(
    troth_env: Path, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "optins.csv"
    path.write_text(CSV + "bob@example.com,newsletter,given,2024-01-01T00:00:00Z,\n")
    code = main(["consent", "import", str(PROJECT), "--csv", str(path), "--db", sqlite_url])
    assert code == 2
    err = capsys.readouterr().err
    assert "optins.csv:5" in err
    assert "bob@example.com" not in err
    assert _ledger(sqlite_url).count() == 0

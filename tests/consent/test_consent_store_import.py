"""`troth consent import --from-store`: opt-ins held in a column of a mapped SQL store enter the
ledger with their original times and the column as their source, show in decisions, and a
second import records nothing new; on SQLite and PostgreSQL stores."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.cli import main
from troth.config import Settings
from troth.consent import ConsentLedger
from troth.consent.decide import Decider
from troth.consent.ledger import UnknownSubjectError
from troth.project import load_project
from troth.store import open_store

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "mydigisoft"
TABLE = """CREATE TABLE marketing_preferences (
  customer_id INTEGER NOT NULL PRIMARY KEY,
  email_opt_in SMALLINT NOT NULL,
  channel VARCHAR(40) NOT NULL,
  updated_at TIMESTAMP NULL
)"""
ROWS = [
    (1, 1, "web", "2024-03-01 10:00:00"),
    (2, 0, "web", "2024-04-01 09:00:00"),
    (3, 1, "shop", "2023-05-02 08:30:00"),
]


@pytest.fixture(params=["sqlite", "postgres"])
def shop_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The MyDigiSoft shop store with marketing_preferences, on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(TABLE)
        conn.execute(
            sa.text(
                "INSERT INTO marketing_preferences VALUES (:id, :opt, :channel, "
                + ("CAST(:at AS TIMESTAMP))" if request.param == "postgres" else ":at)")
            ),
            [{"id": i, "opt": o, "channel": c, "at": a} for i, o, c, a in ROWS],
        )
    engine.dispose()
    monkeypatch.setenv("TROTH_CONN_MYDIGISOFT_SHOP", url)
    return url


def _ledger(url: str) -> ConsentLedger:
    settings = Settings.from_env().with_database(url)
    policy = load_project(PROJECT).policy.policy
    return ConsentLedger(open_store(settings), policy, key=settings.secret_key)


def _args(state: str, *extra: str) -> list[str]:
    return [
        "consent", "import", str(PROJECT), "--from-store", "shop",
        "--table", "marketing_preferences", "--column", "email_opt_in",
        "--subject-column", "customer_id", "--at-column", "updated_at",
        "--consent", "marketing_email", "--db", state, *extra,
    ]  # fmt: skip


def test_opt_ins_from_a_store_column_show_in_decisions_once(
    troth_env: Path, shop_url: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(sqlite_url, "--dry-run")) == 0
    assert "2 opted-in rows are valid" in capsys.readouterr().out
    assert _ledger(sqlite_url).count() == 0  # dry run: nothing written
    assert main(_args(sqlite_url)) == 0
    out = capsys.readouterr().out
    assert "2 opted-in rows read from shop.marketing_preferences.email_opt_in" in out
    assert "2 events recorded" in out
    ledger = _ledger(sqlite_url)
    decider = Decider(ledger)
    assert decider.allows("1", "marketing_email")
    assert decider.allows("3", "marketing_email")
    assert not decider.allows("2", "marketing_email")  # not opted in: no event at all
    with pytest.raises(UnknownSubjectError):
        ledger.history("2")
    (first,) = ledger.history("3")
    assert (first.event_time, first.channel, first.collection_point, first.actor) == (
        "2023-05-02T08:30:00.000000+00:00",
        "import",
        "shop.marketing_preferences.email_opt_in",
        "import",
    )
    # the same import again records nothing twice
    assert main(_args(sqlite_url)) == 0
    assert "0 events recorded" in capsys.readouterr().out
    assert ledger.count() == 2
    imported = [e for e in ledger.audit.tail(10) if e.kind == "consent.imported"]
    assert [e.data["recorded"] for e in imported] == [2, 0]
    assert all("@" not in str(e.data) for e in imported)


def test_an_opted_in_row_without_a_time_stops_the_import_before_any_write(
    troth_env: Path, shop_url: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = sa.create_engine(shop_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE marketing_preferences SET updated_at = NULL WHERE customer_id = 3"
        )
    engine.dispose()
    assert main(_args(sqlite_url)) == 2
    err = capsys.readouterr().err
    assert "shop.marketing_preferences.email_opt_in: 0 opted-in rows have no customer_id" in err
    assert "1 no updated_at" in err
    assert "Traceback" not in err
    assert _ledger(sqlite_url).count() == 0


def test_a_table_the_map_does_not_declare_is_refused_with_the_tables_it_does(
    troth_env: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(sqlite_url)
    args[args.index("marketing_preferences")] = "newsletter"
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--table: store 'shop' has no table 'newsletter' in the data map" in err
    assert "marketing_preferences" in err


def test_csv_or_store_one_of_them() -> None:
    assert main(["consent", "import", str(PROJECT)]) == 2

"""``troth prove``: a status per promise from live evidence, and a signed manifest that fails
when the report, the manifest or the ledger is edited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from troth.audit import Ledger
from troth.cli import main
from troth.config import Settings
from troth.dsr.identity import Identity
from troth.dsr.requests import Kind, Requests
from troth.prove import ProofResult, Status, prove, verify_proof
from troth.store import open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def settings(troth_env: Path, state_url: str) -> Settings:
    return Settings.from_env().with_database(state_url)


def test_every_promise_gets_a_status_with_a_reason(settings: Settings, tmp_path: Path) -> None:
    for name, prefix, count in (("mydigisoft", "MD-", 14), ("plus", "PL-", 15)):
        result = prove(EXAMPLES / name, output=tmp_path / name, settings=settings)
        ids = [p.id for p in result.promises]
        assert ids == [f"{prefix}{n}" for n in range(1, count + 1)]
        assert all(p.reason for p in result.promises)
        doc = json.loads((tmp_path / name / "report.json").read_text())
        assert {p["id"]: p["status"] for p in doc["promises"]} == {
            p.id: p.status.value for p in result.promises
        }
        html = (tmp_path / name / "report.html").read_text()
        assert '<html lang="en">' in html
        assert all(f'id="{pid}"' in html for pid in ids)
        assert verify_proof(tmp_path / name, settings=settings) == []


def test_an_unattested_control_breaks_its_promise_until_attested(
    settings: Settings, tmp_path: Path
) -> None:
    project = EXAMPLES / "mydigisoft"  # MD-9: malware scans, evidence security.malware_scan
    before = prove(project, output=tmp_path / "a", settings=settings)
    assert before.status_of("MD-9") is Status.broken
    scan = tmp_path / "scan-report.txt"
    scan.write_text("weekly scan: clean\n")
    db = ["--db", settings.database_url]
    args = ["attest", str(project), "malware_scans", "--evidence", str(scan), "--by", "it-ops"]
    assert main([*args, *db]) == 0
    after = prove(project, output=tmp_path / "b", settings=settings)
    assert after.status_of("MD-9") is Status.kept
    # an attestation older than the measure's period is overdue again
    later = datetime.now(UTC) + timedelta(days=400)
    stale = prove(project, output=tmp_path / "c", settings=settings, until=later)
    assert stale.status_of("MD-9") is Status.broken


def test_an_overdue_request_breaks_the_right_it_serves(settings: Settings, tmp_path: Path) -> None:
    project = EXAMPLES / "plus"  # PL-12: erasure on request (its checks find other problems)
    assert (
        _requests_verdict(prove(project, output=tmp_path / "a", settings=settings)) is Status.kept
    )
    engine = open_store(settings)
    requests = Requests(engine, settings.secret_key, actor="test")
    info = requests.submit(Kind.erasure, [Identity("email", "late@example.com")], ["gdpr"])
    table = sa.table("dsr_request", sa.column("id"), sa.column("due_at"))
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    with engine.begin() as c:  # the due date passed while the request stayed open
        c.execute(sa.update(table).where(table.c.id == info.id).values(due_at=past))
    result = prove(project, output=tmp_path / "b", settings=settings)
    assert _requests_verdict(result) is Status.broken
    assert result.status_of("PL-12") is Status.broken
    assert "1 erasure request(s) overdue" in next(
        p.reason for p in result.promises if p.id == "PL-12"
    )


def _requests_verdict(result: ProofResult) -> Status:
    proof = next(p for p in result.promises if p.id == "PL-12")
    return next(v.status for v in proof.verdicts if v.mechanism == "data-subject requests")


def test_an_edited_report_or_ledger_fails_verification(settings: Settings, tmp_path: Path) -> None:
    project = EXAMPLES / "mydigisoft"
    ledger = Ledger(open_store(settings))
    ledger.append("security.malware_scan", {"control": "malware_scans"}, actor="it-ops")
    folder = tmp_path / "proof"
    prove(project, output=folder, settings=settings)
    assert verify_proof(folder, settings=settings) == []
    assert main(["verify-proof", str(folder), "--db", settings.database_url]) == 0

    report = folder / "report.html"
    original = report.read_text()
    report.write_text(original.replace("broken", "kept"))
    assert any("report.html" in p for p in verify_proof(folder, settings=settings))
    report.write_text(original)

    manifest = folder / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["manifest"]["summary"]["broken"] = 0
    manifest.write_text(json.dumps(doc))
    assert any("signature" in p for p in verify_proof(folder, settings=settings))

    prove(project, output=folder, settings=settings)
    engine = open_store(settings)
    entries = sa.table("audit_entry", sa.column("seq"), sa.column("data"))
    with engine.begin() as c:  # someone rewrites history
        c.execute(sa.update(entries).where(entries.c.seq == 1).values(data='{"forged": true}'))
    problems = verify_proof(folder, settings=settings)
    assert any("ledger" in p for p in problems)
    assert main(["verify-proof", str(folder), "--db", settings.database_url]) == 1
    edited = prove(project, output=tmp_path / "after", settings=settings)
    assert edited.status_of("MD-9") is Status.broken
    assert "ledger" in next(p.reason for p in edited.promises if p.id == "MD-3")


def test_consent_events_count_per_notice_version(settings: Settings, tmp_path: Path) -> None:
    from troth.consent.events import EventKind, NewEvent
    from troth.consent.ledger import ConsentLedger
    from troth.project import load_project

    project = EXAMPLES / "mydigisoft"
    policy = load_project(project).policy.policy
    ledger = ConsentLedger(open_store(settings), policy, key=settings.secret_key)
    consent = policy.consents[0]
    for n, kind in enumerate([EventKind.given, EventKind.given, EventKind.withdrawn]):
        ledger.record(NewEvent(subject=f"user-{n % 2}", consent_id=consent.id, kind=kind))
    result = prove(project, output=tmp_path / "p", settings=settings)
    fig = result.evidence.consents[consent.id]
    assert sum(fig.events[consent.notice.version].values()) == 3
    assert fig.subjects == 2
    assert fig.given_now == 1  # user-0 withdrew after giving


def test_publishing_the_policy_is_evidence_of_versioned_changes(
    settings: Settings, tmp_path: Path
) -> None:
    from troth.policy.versions import publish

    project = EXAMPLES / "plus"  # PL-14: policy changes are versioned

    def verdict(result: ProofResult) -> Status:
        proof = next(p for p in result.promises if p.id == "PL-14")
        return next(v.status for v in proof.verdicts if v.mechanism == "published versions")

    assert verdict(prove(project, output=tmp_path / "a", settings=settings)) is Status.at_risk
    publish(open_store(settings), project, actor="dpo")
    assert verdict(prove(project, output=tmp_path / "b", settings=settings)) is Status.kept

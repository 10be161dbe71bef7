"""Approval rules in the policy, and the request clock: pause, resume, extend."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from workerkit import EXAMPLES, KEY

from troth.config import Settings
from troth.dsr import clock
from troth.dsr.filing import file_request
from troth.dsr.identity import Identity
from troth.dsr.models import DsrRequest
from troth.dsr.requests import Kind, Requests, Status
from troth.errors import PolicyLoadError, RequestError
from troth.policy.loader import load_policy
from troth.store import open_store

RULES = """
requests:
  approval:
    access: automatic
    erasure: reviewer
"""


def _project(tmp: Path, extra: str = RULES, jurisdictions: str | None = None) -> Path:
    dst = tmp / "project"
    dst.mkdir(exist_ok=True)
    shutil.copy(EXAMPLES / "mydigisoft" / "datamap.yaml", dst / "datamap.yaml")
    text = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    if jurisdictions is not None:
        lines = text.splitlines()
        start = next(i for i, ln in enumerate(lines) if ln.startswith("jurisdictions:"))
        end = start + 1
        while end < len(lines) and lines[end].startswith(("  -", "  #")):
            end += 1
        lines[start:end] = [f"jurisdictions: [{jurisdictions}]"]
        text = "\n".join(lines) + "\n"
    (dst / "policy.yaml").write_text(text + extra)
    return dst


@pytest.fixture
def requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Requests:
    monkeypatch.setenv("TROTH_SECRET_KEY", KEY)
    settings = Settings.from_env().with_database(f"sqlite:///{tmp_path / 'state.db'}")
    return Requests(open_store(settings), settings.secret_key, actor="test")


def _file(requests: Requests, project: Path, kind: Kind, n: int = 1) -> str:
    return file_request(
        requests.engine,
        requests.key,
        project,
        kind,
        [Identity("email", f"customer{n}@example.com")],
        actor="test",
        verified=True,
    ).id


def test_approval_rules_decide_which_requests_wait_for_a_reviewer(
    requests: Requests, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    assert requests.get(_file(requests, project, Kind.access)).status == "approved"
    assert requests.get(_file(requests, project, Kind.erasure)).status == "identity_verified"
    # a type the rules do not name waits for a reviewer
    assert requests.get(_file(requests, project, Kind.restriction)).status == "identity_verified"


def test_without_rules_every_request_waits(requests: Requests, tmp_path: Path) -> None:
    project = _project(tmp_path, extra="")
    assert requests.get(_file(requests, project, Kind.access)).status == "identity_verified"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("requests:\n  approval:\n    rectification: automatic\n", "rectification"),
        ("requests:\n  approval:\n    access: sometimes\n", "sometimes"),
        ("requests:\n  aproval: {}\n", "aproval"),
    ],
)
def test_the_loader_refuses_bad_approval_rules(tmp_path: Path, rules: str, message: str) -> None:
    project = _project(tmp_path, extra=rules)
    with pytest.raises(PolicyLoadError) as info:
        load_policy(project / "policy.yaml")
    text = "\n".join(info.value.lines())
    assert message in text
    assert "policy.yaml:" in text


def _age(requests: Requests, rid: str, **moves: timedelta) -> None:
    """Move the request's timestamps into the past (the clock has run)."""
    with requests.engine.begin() as c:
        row = c.execute(sa.select(DsrRequest).where(DsrRequest.id == rid)).one()
        values = {
            k: (datetime.fromisoformat(getattr(row, k)) - d).isoformat() for k, d in moves.items()
        }
        c.execute(sa.update(DsrRequest).where(DsrRequest.id == rid).values(**values))


def test_pause_stops_the_clock_only_where_the_jurisdiction_does(
    requests: Requests, tmp_path: Path
) -> None:
    uk = _project(tmp_path, extra="", jurisdictions="uk_gdpr")
    rid = _file(requests, uk, Kind.erasure)
    due = datetime.fromisoformat(requests.get(rid).due_at)
    paused = clock.pause(requests, rid, "waiting for a copy of the ID")
    assert paused.status == "paused"
    with pytest.raises(RequestError, match="paused"):
        requests.transition(rid, Status.approved)  # a paused request waits
    _age(requests, rid, paused_at=timedelta(days=5))
    back = clock.resume(requests, rid)
    assert back.status == "identity_verified"
    assert datetime.fromisoformat(back.due_at) - due == timedelta(days=5)

    eu = _project(tmp_path, extra="", jurisdictions="gdpr")
    rid2 = _file(requests, eu, Kind.erasure, n=2)
    due2 = requests.get(rid2).due_at
    clock.pause(requests, rid2, "waiting for a clarification")
    _age(requests, rid2, paused_at=timedelta(days=5))
    assert clock.resume(requests, rid2).due_at == due2  # GDPR: the clock ran on


def test_extend_once_by_the_jurisdiction_rule_before_the_due_date(
    requests: Requests, tmp_path: Path
) -> None:
    project = _project(tmp_path, extra="", jurisdictions="ccpa")
    rid = _file(requests, project, Kind.access)
    due = datetime.fromisoformat(requests.get(rid).due_at)
    info = clock.extend(requests, rid, "many systems to search")
    assert datetime.fromisoformat(info.due_at) - due == timedelta(days=45)
    with pytest.raises(RequestError, match="extended already"):
        clock.extend(requests, rid, "again")
    with requests.engine.connect() as c:
        kinds = [r[0] for r in c.exec_driver_sql("SELECT kind FROM audit_entry ORDER BY seq")]
    assert kinds.count("dsr.extended") == 1

    late = _file(requests, project, Kind.access, n=3)
    _age(requests, late, due_at=timedelta(days=60))
    with pytest.raises(RequestError, match="overdue"):
        clock.extend(requests, late, "too late")

    lgpd = _project(tmp_path, extra="", jurisdictions="lgpd")
    rid3 = _file(requests, lgpd, Kind.access, n=4)
    with pytest.raises(RequestError, match="allows no extension"):
        clock.extend(requests, rid3, "more time")
    with pytest.raises(RequestError, match="reason"):
        clock.extend(requests, rid, "  ")
    assert datetime.now(UTC) < datetime.fromisoformat(info.due_at)

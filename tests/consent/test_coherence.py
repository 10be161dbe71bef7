"""Decisions stay coherent across processes, and take the same scope as requests."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from servers import start_serve
from troth.config import Settings
from troth.consent import ConsentLedger, Decider
from troth.consent.decide import FRESHNESS
from troth.consent.events import NewEvent
from troth.dsr import Identity, restrict
from troth.policy.model import Policy
from troth.store import open_store
from troth.web.apikeys import create_key

ROOT = Path(__file__).resolve().parents[2]
MD = ROOT / "examples" / "mydigisoft"
ADA = "ada@example.com"


def _serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    return start_serve(MD, url, {**os.environ, "PYTHONPATH": str(ROOT / "src")})


def test_a_restriction_made_by_another_process_is_seen_by_a_running_server(
    state_url: str, troth_env: Path
) -> None:
    """`troth dsr restrict` in one process; the server in another answers from its cache until
    it looks again (at most FRESHNESS seconds later), then refuses."""
    settings = Settings.from_env().with_database(state_url)
    key = create_key(open_store(settings), settings.secret_key, ["consent:read"])
    proc, base = _serve(state_url)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        body = {"subject": ADA, "purpose": "order_fulfilment"}
        first = httpx.post(f"{base}/api/v1/decisions", json=body, headers=headers, timeout=10)
        assert first.status_code == 200, first.text
        assert first.json()["allowed"] is True  # cached by the server from now on
        result = restrict(MD, [Identity("email", ADA)], settings=settings)
        assert result.status == "completed"
        time.sleep(FRESHNESS + 0.1)
        after = httpx.post(f"{base}/api/v1/decisions", json=body, headers=headers, timeout=10)
        assert after.json()["allowed"] is False
        assert "restricted" in after.json()["reason"]
        other = {"subject": "bob@example.com", "purpose": "order_fulfilment"}
        assert httpx.post(f"{base}/api/v1/decisions", json=other, headers=headers).json()["allowed"]
    finally:
        proc.kill()
        proc.wait()


def test_a_decider_drops_its_cache_when_the_ledger_head_moved(
    state_url: str, md_policy: Policy, troth_env: Path
) -> None:
    settings = Settings.from_env().with_database(state_url)
    engine = open_store(settings)
    decider = Decider(ConsentLedger(engine, md_policy, key=settings.secret_key), freshness=0.0)
    assert decider.allows(ADA, "order_fulfilment").allowed
    # another process (a second engine: nothing shared in memory) restricts the person
    restrict(MD, [Identity("email", ADA)], settings=settings)
    assert not decider.allows(ADA, "order_fulfilment").allowed


def test_scoped_restriction_and_consent(state_url: str, md_policy: Policy, troth_env: Path) -> None:
    settings = Settings.from_env().with_database(state_url)
    engine = open_store(settings)
    ledger = ConsentLedger(engine, md_policy, key=settings.secret_key)
    decider = Decider(ledger, freshness=0.0)
    t1, t2 = {"tenant": "1"}, {"tenant": "2"}
    restrict(MD, [Identity("email", ADA)], settings=settings, scope=t1)
    assert not decider.allows(ADA, "order_fulfilment", scope=t1).allowed
    assert decider.allows(ADA, "order_fulfilment", scope=t2).allowed
    assert decider.allows(ADA, "order_fulfilment").allowed  # the restriction is tenant 1's
    # consent given in tenant 2 is not consent in tenant 1, nor without a scope
    from troth.consent.subjects import scoped_subject

    consent = next(c for c in md_policy.consents if c.id == "marketing_email")
    purpose = next(p.id for p in md_policy.purposes if "marketing_email" in p.consents)
    ledger.record(
        NewEvent(
            subject=scoped_subject(settings.secret_key, "bob@example.com", t2),
            consent_id=consent.id,
            kind="given",
            notice_version=consent.notice.version,
        )
    )
    assert decider.allows("bob@example.com", purpose, scope=t2).allowed
    assert not decider.allows("bob@example.com", purpose, scope=t1).allowed
    assert not decider.allows("bob@example.com", purpose).allowed
    # a restriction without a scope applies in every scope
    restrict(MD, [Identity("email", "bob@example.com")], settings=settings)
    assert not decider.allows("bob@example.com", purpose, scope=t2).allowed

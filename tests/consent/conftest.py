"""Fixtures of the consent tests: the example policies, a ledger on each state engine and the
headless Chromium of the banner tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from servers import driver  # noqa: F401  (the browser fixture)
from troth.consent import ConsentLedger, Decider
from troth.policy.loader import load_policy
from troth.policy.model import Policy
from troth.store import open_store

ROOT = Path(__file__).resolve().parents[2]
KEY = b"test-secret-key-0123456789abcdef"


@pytest.fixture(scope="session")
def md_policy() -> Policy:
    return load_policy(ROOT / "examples" / "mydigisoft" / "policy.yaml").policy


@pytest.fixture(scope="session")
def plus_policy() -> Policy:
    return load_policy(ROOT / "examples" / "plus" / "policy.yaml").policy


@pytest.fixture
def md_ledger(state_url: str, md_policy: Policy) -> ConsentLedger:
    return ConsentLedger(open_store(state_url), md_policy, key=KEY)


@pytest.fixture
def md_sqlite_ledger(sqlite_url: str, md_policy: Policy) -> ConsentLedger:
    return ConsentLedger(open_store(sqlite_url), md_policy, key=KEY)


@pytest.fixture
def md_decider(md_sqlite_ledger: ConsentLedger) -> Decider:
    return Decider(md_sqlite_ledger, restrictions=lambda _s: frozenset())

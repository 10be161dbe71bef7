"""Fixtures of the disclosure tests: the two example projects and a gateway on each state engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.project import Project, load_project
from troth.sharing import Gateway
from troth.store import open_store

ROOT = Path(__file__).resolve().parents[2]
PLUS = ROOT / "examples" / "plus"
MD = ROOT / "examples" / "mydigisoft"
KEY = b"test-secret-key-0123456789abcdef"

#: a row of plus.crm_contacts (fictional)
CONTACT = {
    "id": 7,
    "account_id": 3,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "Ada.Lovelace@Example.com",
    "phone": "+1 555 0100",
    "street": "12 Analytical Way",
    "city": "Springfield",
    "zip": "55501",
    "country": "US",
    "created_at": "2026-01-01T00:00:00",
}
ADDRESS = ("street", "city", "zip", "country")


@pytest.fixture(scope="session")
def plus() -> Project:
    return load_project(PLUS)


@pytest.fixture(scope="session")
def md() -> Project:
    return load_project(MD)


def gateway_for(project: Project, url: str) -> Gateway:
    assert project.datamap is not None
    return Gateway(project.policy.policy, project.datamap.datamap, open_store(url), key=KEY)


@pytest.fixture
def plus_gw(troth_env: Path, state_url: str, plus: Project) -> Gateway:
    return gateway_for(plus, state_url)


@pytest.fixture
def plus_sqlite_gw(troth_env: Path, sqlite_url: str, plus: Project) -> Gateway:
    return gateway_for(plus, sqlite_url)


@pytest.fixture
def md_gw(troth_env: Path, sqlite_url: str, md: Project) -> Gateway:
    return gateway_for(md, sqlite_url)


def approved(
    gw: Gateway,
    authority: str = "State police",
    basis: str = "Court order 2026/17",
    *,
    categories: tuple[str, ...] = (),
    confidential: bool = False,
) -> str:
    """A legal request to the Plus authorities, recorded by alice and approved by bob: its id."""
    req = gw.legal.record(
        "legal_authorities",
        "legal_disclosure",
        authority=authority,
        basis=basis,
        reference="case 17",
        categories=categories,
        confidential=confidential,
        reason="an ongoing investigation (fictional provision 17)" if confidential else None,
        actor="alice",
    )
    assert req.id is not None
    gw.legal.approve(req.id, actor="bob")
    return req.id

"""API keys and users from the console: a key is shown once and works, revoking it stops it;
an admin adds and disables users; each change audited with the signed-in user as the actor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from console_support import PASSWORD, Console, csrf, login, make_console

from troth.console.roles import Role


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return make_console(tmp_path)


def _actors(console: Console, kind: str) -> list[str]:
    with console.app.state.admin.engine.connect() as c:
        rows = c.exec_driver_sql("SELECT actor FROM audit_entry WHERE kind = ?", (kind,)).all()
    return [str(a) for (a,) in rows]


def test_a_privacy_officer_creates_and_revokes_an_api_key(console: Console) -> None:
    c = console.signed_in(Role.privacy_officer)
    token = csrf(c, "/admin/keys")
    page = c.post(
        "/admin/keys", data={"csrf": token, "label": "DPO inbox", "scope": ["requests:read"]}
    )
    assert page.status_code == 200
    found = re.search(r'id="new-key">(troth_[^<]+)<', page.text)
    assert found
    key = found.group(1)
    assert key not in c.get("/admin/keys").text  # shown once
    api = console.client()
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/v1/requests", headers=headers).status_code == 200
    user = console.users.find("privacy-officer")
    assert user is not None
    assert _actors(console, "apikey.created") == [f"user:{user.id}"]
    key_id = key.split("_")[1]
    assert c.post(f"/admin/keys/{key_id}/revoke", data={"csrf": token}).status_code == 303
    assert _actors(console, "apikey.revoked") == [f"user:{user.id}"]
    assert "revoked" in c.get("/admin/keys").text
    no_scope = c.post("/admin/keys", data={"csrf": token, "label": "x"})
    assert no_scope.status_code == 400
    assert "needs at least one scope" in no_scope.text


def test_an_admin_adds_and_disables_a_user(console: Console) -> None:
    c = console.signed_in(Role.admin)
    token = csrf(c, "/admin/users")
    data = {"csrf": token, "name": "a.smith", "role": "reviewer", "password": PASSWORD}
    assert c.post("/admin/users", data=data).status_code == 303
    assert login(console.client(), "a.smith").status_code == 303
    short = c.post("/admin/users", data={**data, "name": "b.jones", "password": "short"})
    assert short.status_code == 400
    assert "12 to 1024 characters" in short.text
    user = console.users.find("a.smith")
    assert user is not None
    assert c.post(f"/admin/users/{user.id}/disable", data={"csrf": token}).status_code == 303
    assert login(console.client(), "a.smith").status_code == 401
    admin = console.users.find("admin")
    assert admin is not None
    assert _actors(console, "console.user_disabled") == [f"user:{admin.id}"]
    assert f"user:{admin.id}" in _actors(console, "console.user_added")

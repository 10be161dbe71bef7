"""Console sign-in: argon2id hashes, sessions stored hashed with idle and absolute expiry, no
session fixation, lock-out per name and per address, TOTP (once per code), logout, the CLI, and
the ledger holding ids only."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from console_support import PASSWORD, Console, login, make_console, session_of, set_session

from servers import troth_command
from troth.audit import verify
from troth.console import lockout
from troth.console.roles import Role
from troth.console.sessions import Sessions
from troth.store import open_store


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return make_console(tmp_path)


def _ledger(console: Console) -> list[tuple[str, str, str]]:
    with console.app.state.admin.engine.connect() as c:
        rows = c.exec_driver_sql("SELECT kind, actor, data FROM audit_entry ORDER BY seq").all()
    return [(str(k), str(a), str(d)) for k, a, d in rows]


def test_passwords_are_argon2id_and_sign_in_sets_a_strict_secure_cookie(console: Console) -> None:
    with console.app.state.admin.engine.connect() as c:
        hashes = [h for (h,) in c.exec_driver_sql("SELECT password_hash FROM console_user")]
    assert hashes
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
    c = console.client()
    response = login(c, "reviewer")
    assert response.status_code == 303
    cookie = next(
        v for v in response.headers.get_list("set-cookie") if v.startswith("troth_admin=")
    )
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/admin"))
    token = cookie.split(";")[0].split("=", 1)[1]
    with console.app.state.admin.engine.connect() as conn:
        stored = [h for (h,) in conn.exec_driver_sql("SELECT id_hash FROM console_session")]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]  # never the id itself
    assert c.get("/admin/requests").status_code == 200


def test_a_wrong_password_or_unknown_name_gets_the_same_refusal(console: Console) -> None:
    c = console.client()
    wrong = login(c, "reviewer", "not the password at all")
    unknown = login(c, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "not right" in wrong.text
    assert "not right" in unknown.text
    assert c.get("/admin/requests").status_code == 303  # still signed out


def test_no_session_fixation_signing_in_replaces_the_presented_id(console: Console) -> None:
    c = console.client()
    set_session(c, "planted-by-an-attacker-0123456789")
    first = login(c, "reviewer")
    assert first.status_code == 303
    token = session_of(c)
    assert token
    assert token != "planted-by-an-attacker-0123456789"
    # signing in again rotates the id; the old one no longer works
    c2 = console.client()
    set_session(c2, token)
    assert c2.get("/admin/requests").status_code == 200
    assert login(c2, "reviewer").status_code == 303
    assert session_of(c2) != token
    stale = console.client()
    set_session(stale, token)
    assert stale.get("/admin/requests").status_code == 303


def test_sessions_end_when_idle_after_the_absolute_limit_and_at_logout(console: Console) -> None:
    engine = console.app.state.admin.engine
    user = console.users.find("auditor")
    assert user is not None
    at = [datetime(2030, 1, 1, tzinfo=UTC)]
    sessions = Sessions(engine, lambda: at[0])
    token = sessions.start(user.id)
    at[0] += timedelta(minutes=29)
    assert sessions.lookup(token) is not None  # touched: idle restarts
    at[0] += timedelta(minutes=29)
    assert sessions.lookup(token) is not None
    at[0] += timedelta(minutes=31)
    assert sessions.lookup(token) is None  # idle too long
    token = sessions.start(user.id)
    for _ in range(26):  # active every 29 minutes, but 12 hours is the end
        at[0] += timedelta(minutes=29)
        alive = sessions.lookup(token)
    assert alive is None
    stale = sessions.start(user.id)
    at[0] += timedelta(hours=1)
    assert sessions.sweep() >= 1  # ended sessions are deleted, not only refused
    assert sessions.lookup(stale) is None
    c = console.signed_in(Role.auditor)
    form = {"csrf": c.get("/admin/requests").text.split('name="csrf" value="')[1].split('"')[0]}
    assert c.post("/admin/logout", data=form).status_code == 303
    assert c.get("/admin/requests").status_code == 303


def test_lock_out_per_name_even_with_the_right_password(console: Console) -> None:
    c = console.client()
    for _ in range(lockout.USER_LIMIT):
        assert login(c, "reviewer", "wrong password 123").status_code == 401
    assert login(c, "reviewer").status_code == 401  # locked, though the password is right
    assert login(c, "auditor").status_code == 303  # another name is not locked
    kinds = [k for k, _, _ in _ledger(console)]
    assert kinds.count("console.login_refused") == lockout.USER_LIMIT + 1


def test_lock_out_per_address_across_names(console: Console) -> None:
    c = console.client()
    for i in range(lockout.IP_LIMIT):
        login(c, f"guess{i}", "wrong password 123")
    assert login(c, "admin").status_code == 401  # this address is locked


def test_lock_out_ends_after_its_time(tmp_path: Path) -> None:
    settings_engine = open_store(make_console(tmp_path).settings)
    at = [datetime(2030, 1, 1, tzinfo=UTC)]
    box = lockout.Lockout(settings_engine, b"k" * 32, lambda: at[0])
    for _ in range(lockout.USER_LIMIT):
        box.failed("reviewer", None)
    assert box.locked("reviewer", None)
    at[0] += lockout.LOCK + timedelta(seconds=1)
    assert not box.locked("reviewer", None)


def test_totp_is_required_once_set_and_a_code_works_once(console: Console) -> None:
    uri = console.users.enable_totp("privacy-officer", actor="test")
    secret = pyotp.parse_uri(uri).secret
    c = console.client()
    assert login(c, "privacy-officer").status_code == 401  # no code
    assert login(c, "privacy-officer", code="000000").status_code in (401,)
    code = pyotp.TOTP(secret).now()
    assert login(c, "privacy-officer", code=code).status_code == 303
    again = console.client()
    assert login(again, "privacy-officer", code=code).status_code == 401  # replayed code


def test_disabling_a_user_or_changing_the_password_ends_their_sessions(console: Console) -> None:
    c = console.signed_in(Role.reviewer)
    console.users.set_password("reviewer", "a brand new passphrase", actor="test")
    assert c.get("/admin/requests").status_code == 303
    c = console.client()
    assert login(c, "reviewer", "a brand new passphrase").status_code == 303
    console.users.disable("reviewer", actor="test")
    assert c.get("/admin/requests").status_code == 303
    assert login(console.client(), "reviewer", "a brand new passphrase").status_code == 401


def test_the_ledger_records_actions_with_user_ids_and_never_names_or_passwords(
    console: Console,
) -> None:
    console.users.add("a.smith", Role.auditor, PASSWORD, actor="test")
    login(console.client(), "a.smith", "wrong password 123")
    assert login(console.client(), "a.smith").status_code == 303
    entries = _ledger(console)
    text = "".join(a + d for _, a, d in entries)
    assert PASSWORD not in text
    assert "wrong password" not in text
    assert "a.smith" not in text
    user = console.users.find("a.smith")
    assert user is not None
    assert ("console.login", f"user:{user.id}") in [(k, a) for k, a, _ in entries]
    assert verify(console.app.state.admin.engine, settings=console.settings).ok


def _troth(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [troth_command(), *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_adds_users_from_stdin_never_from_argv(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    added = _troth(
        "user",
        "add",
        "dpo",
        "--role",
        "privacy-officer",
        "--password-stdin",
        *db,
        stdin="a long enough passphrase\n",
    )
    assert added.returncode == 0, added.stderr
    assert "dpo  privacy_officer  no-totp  active" in _troth("user", "list", *db).stdout
    short = _troth("user", "passwd", "dpo", "--password-stdin", *db, stdin="x\n")
    assert short.returncode == 2
    assert "12 to 1024 characters" in short.stderr
    assert "otpauth://totp/" in _troth("user", "totp", "dpo", *db).stdout
    bad = _troth("user", "add", "x", "--role", "boss", "--password-stdin", *db)
    assert bad.returncode == 2
    assert "unknown role 'boss'" in bad.stderr
    assert _troth("user", "disable", "dpo", *db).returncode == 0
    assert "disabled" in _troth("user", "list", *db).stdout
    for option in ("--password", "-p"):  # no way to pass a password as an argument
        refused = _troth("user", "add", "eve", option, "secret passphrase 1", *db)
        assert refused.returncode == 2


@pytest.mark.postgres
def test_users_sessions_lock_out_and_totp_on_postgresql(pg_url: str) -> None:
    """The same sign-in on a PostgreSQL state DB, with failures racing on one counter."""
    from concurrent.futures import ThreadPoolExecutor

    from troth.console.users import Users, utcnow

    engine = open_store(pg_url)
    users = Users(engine, b"p" * 32)
    user = users.add("dpo", Role.privacy_officer, PASSWORD, actor="test")
    assert users.check_login("dpo", PASSWORD, "") is not None
    uri = users.enable_totp("dpo", actor="test")
    code = pyotp.TOTP(pyotp.parse_uri(uri).secret).now()
    with ThreadPoolExecutor(4) as pool:  # the same code four times at once: accepted once
        results = list(pool.map(lambda _: users.check_login("dpo", PASSWORD, code), range(4)))
    assert sum(r is not None for r in results) == 1
    sessions = Sessions(engine, utcnow)
    token = sessions.start(user.id)
    assert sessions.lookup(token) is not None
    box = lockout.Lockout(engine, b"p" * 32, utcnow)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: box.failed("dpo", "192.0.2.7"), range(lockout.USER_LIMIT)))
    assert box.locked("dpo", None)
    assert verify(engine).ok

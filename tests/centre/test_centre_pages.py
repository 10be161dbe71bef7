"""The privacy centre's pages against the app of ``troth serve``, with a real SMTP server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from centre_helpers import ask, client, csrf, verify
from centre_support import EXAMPLES, Mailbox

from troth.audit import Ledger
from troth.centre.unsubscribe import list_unsubscribe_headers
from troth.consent.events import NewEvent
from troth.dsr.requests import Requests
from troth.web.centre.fastpages import CachedPage

ADA = "ada@example.com"


def _db_text(c: object) -> str:
    engine = c.app.state.services.engine  # type: ignore[attr-defined]
    out = []
    with engine.connect() as conn:
        for table in ("centre_code", "centre_request", "audit_entry", "dsr_request"):
            out += [
                json.dumps(list(r), default=str)
                for r in conn.execute(sa.text(f"SELECT * FROM {table}"))
            ]
    return "\n".join(out)


def test_access_request_is_filed_only_after_the_right_code(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    engine = c.app.state.services.engine
    requests = Requests(engine, b"")
    sent = ask(c, ADA)
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert location.startswith("/privacy/verify/")
    assert requests.list() == []  # nothing filed before the code
    code = centre_env.code(ADA)
    done = verify(c, location, code)
    assert done.status_code == 303
    status_url = done.headers["location"]
    assert status_url.startswith("/privacy/status/")
    (info,) = requests.list()
    assert (info.kind, info.status) == ("access", "identity_verified")
    page = c.get(status_url)
    assert 'data-status="identity_verified"' in page.text
    # the "received" notice carries the status link, and the ledger records it without the address
    notice = centre_env.wait(ADA, 2)
    assert "received" in notice["Subject"].lower()
    assert "http://testserver" + status_url in notice.get_content()
    kinds = [e.kind for e in Ledger(engine).tail(10)]
    assert "notice.sent" in kinds
    assert "dsr.identity_verified" in kinds
    # no personal value anywhere in troth's state: codes hashed, contact encrypted
    text = _db_text(c)
    assert ADA not in text
    assert code not in text


def test_unknown_and_known_identities_get_the_same_answer(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    # ada has a consent history (troth knows her); nobody@ has never been seen
    c.app.state.services.ledger.record(NewEvent(ADA, "marketing_email", "given"))
    answers = []
    for who in (ADA, "nobody@example.com"):
        sent = ask(c, who)
        page = c.get(sent.headers["location"])
        answers.append(
            (
                sent.status_code,
                re.sub(r"[0-9a-f]{32}", "ID", sent.headers["location"]),
                page.status_code,
                re.sub(r"[0-9a-f]{32}", "ID", page.text),
            )
        )
    assert answers[0] == answers[1]
    assert centre_env.to("nobody@example.com")  # the unknown address gets a code too


def test_wrong_code_says_how_many_tries_are_left(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    location = ask(c, ADA).headers["location"]
    code = centre_env.code(ADA)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page = verify(c, location, wrong)
    assert page.status_code == 400
    assert "4 tries left" in page.text
    for _ in range(4):
        page = verify(c, location, wrong)
    assert "can no longer be used" in page.text
    assert verify(c, location, code).status_code == 400  # too many tries: locked
    assert Requests(c.app.state.services.engine, b"").list() == []


def test_forms_without_a_valid_csrf_token_are_refused(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    no_token = c.post("/privacy/request", data={"kind": "access", "identity": ADA})
    assert no_token.status_code == 403
    csrf(c)  # this browser has a cookie now; a token made for another cookie does not fit it
    other = client(EXAMPLES / "mydigisoft")
    foreign = c.post(
        "/privacy/request", data={"csrf": csrf(other), "kind": "access", "identity": ADA}
    )
    assert foreign.status_code == 403
    # a token or signed link with non-ASCII text is refused, not a 500
    odd = c.post("/privacy/request", data={"csrf": "\u00e9t\u00e9", "kind": "access"})
    assert odd.status_code == 403
    assert c.get("/privacy/unsubscribe/.\u0080").status_code < 500
    assert centre_env.to(ADA) == []
    assert str(_count(c, "centre_code")) == "0"


def _count(c: object, table: str) -> int:
    engine = c.app.state.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_codes_are_rate_limited_per_identity(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    assert [ask(c, ADA).status_code for _ in range(5)] == [303] * 5
    limited = ask(c, ADA)
    assert limited.status_code == 429
    assert len(centre_env.to(ADA)) == 5
    assert ask(c, "grace@example.com").status_code == 303  # another person is not limited


def test_codes_are_rate_limited_per_client_address(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    codes = [ask(c, f"p{i}@example.com").status_code for i in range(31)]
    assert codes[:30] == [303] * 30
    assert codes[30] == 429


def test_pages_carry_security_headers_and_no_scripts(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "plus", base_url="https://testserver")
    other = client(EXAMPLES / "plus", base_url="https://testserver")
    assert csrf(c) != csrf(other)  # the same cached page, each browser its own token
    c.cookies.clear()
    cookie = c.get("/privacy/request").headers.get("set-cookie", "")
    assert "samesite=strict" in cookie.lower()
    assert "httponly" in cookie.lower()
    assert "secure" in cookie.lower()
    for path in ("/privacy", "/privacy/request", "/privacy/policy", "/privacy/preferences"):
        page = c.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        assert "script-src" not in csp
        assert "default-src 'none'" in csp
        assert "<script" not in page.text
        assert "@@troth-csrf@@" not in page.text  # a cached page gets this browser's token
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "AUTODIGI" in page.text  # Plus's own name on its centre
    plain = client(EXAMPLES / "plus")
    assert "strict-transport-security" not in plain.get("/privacy").headers


PLAIN_PAGES = (
    "/privacy",
    "/privacy/",
    "/privacy/request",
    "/privacy/policy",
    "/privacy/preferences",
)


@pytest.mark.parametrize("base_url", ["http://testserver", "https://testserver"])
def test_cached_pages_served_before_routing_equal_the_routes_answer(
    centre_env: Mailbox, base_url: str
) -> None:
    c = client(EXAMPLES / "mydigisoft", base_url=base_url)
    web = c.app.state.centre  # type: ignore[attr-defined]

    def fresh_get(path: str) -> tuple[object, dict[str, str], str]:
        c.cookies.clear()
        page = c.get(path)
        token = web.guard.csrf_of(page.cookies["troth_csrf"])[0]
        headers = dict(page.headers.items())
        headers["set-cookie"] = headers["set-cookie"].replace(page.cookies["troth_csrf"], "V")
        return page.status_code, headers, page.text.replace(token, "TOKEN")

    for path in PLAIN_PAGES:
        assert path not in web.fast
        first = fresh_get(path)  # the route renders the page and records it
        assert path in web.fast, path
        assert fresh_get(path) == first  # the record: same status, headers, page, own token
    # the record answers (a marker page proves it), with the browser's kept cookie's token
    web.fast["/privacy/policy"] = CachedPage((b"<p>", b"</p>"), 200)
    page = c.get("/privacy/policy")
    token = web.guard.csrf_of(c.cookies["troth_csrf"])[0]
    assert (page.text, "set-cookie" in page.headers) == (f"<p>{token}</p>", False)
    assert page.headers["x-frame-options"] == "DENY"
    # a query, a session cookie or a POST go to the routes
    assert c.get("/privacy/policy?x=1").text != page.text
    web.fast["/privacy/preferences"] = CachedPage((b"marker",), 200)
    assert c.get("/privacy/preferences").text == "marker"
    c.cookies.clear()
    signed_in = c.get("/privacy/preferences", headers={"cookie": "troth_centre=not-a-session"})
    assert "marker" not in signed_in.text
    assert c.post("/privacy/policy", data={"csrf": "x"}).status_code == 405


def test_notice_template_of_the_project_overrides_the_shipped_one(
    centre_env: Mailbox, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(EXAMPLES / "mydigisoft" / name, project / name)
    notices = project / "templates" / "notices"
    notices.mkdir(parents=True)
    (notices / "code.txt").write_text("Subject: Ignored\n\nplain\n")
    # the template for the policy's language (en) wins over the plain one
    (notices / "code.en.txt").write_text(
        "Subject: Ihr Code\n\nCode: {{ code }} ({{ organisation }})\n"
    )
    c = client(project)
    ask(c, ADA)
    mail = centre_env.wait(ADA)
    assert mail["Subject"] == "Ihr Code"
    assert re.match(r"Code: \d{6} \(MyDigiSoft", mail.get_content())


def test_one_click_unsubscribe_withdraws_at_once(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    svc = c.app.state.services
    svc.ledger.record(NewEvent(ADA, "marketing_email", "given"))
    assert svc.decider.allows(ADA, "marketing_email")
    headers = list_unsubscribe_headers(
        svc.settings.secret_key, "http://testserver", ADA, "marketing_email"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert ADA not in url
    # a mail client posts without cookies or CSRF token (RFC 8058)
    c.cookies.clear()
    posted = c.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200
    assert not svc.decider.allows(ADA, "marketing_email")
    assert svc.ledger.state(ADA)["marketing_email"].channel == "privacy_centre"
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert c.post(forged).status_code == 404


def test_withdrawal_in_the_preference_centre_shows_in_decisions(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    svc = c.app.state.services
    svc.ledger.record(NewEvent(ADA, "marketing_email", "given", channel="notification_desk"))
    assert svc.decider.allows(ADA, "marketing_email")
    login = c.post(
        "/privacy/preferences/sign-in",
        data={"csrf": csrf(c, "/privacy/preferences"), "identity": ADA},
    )
    location = login.headers["location"]
    signed_in = verify(c, location, centre_env.code(ADA))
    assert signed_in.status_code == 303
    page = c.get("/privacy/preferences")
    assert 'data-state="given"' in page.text
    assert "notification desk" in page.text  # its history
    token = csrf(c, "/privacy/preferences")
    done = c.post(
        "/privacy/preferences",
        data={"csrf": token, "consent": "marketing_email", "action": "withdraw"},
    )
    assert done.status_code == 303
    assert not svc.decider.allows(ADA, "marketing_email")
    assert 'data-state="withdrawn"' in c.get("/privacy/preferences").text
    # without the session cookie nobody can change it
    stranger = client(EXAMPLES / "mydigisoft")
    stranger.post(
        "/privacy/preferences",
        data={
            "csrf": csrf(stranger, "/privacy/preferences"),
            "consent": "marketing_email",
            "action": "give",
        },
    )
    assert not svc.decider.allows(ADA, "marketing_email")


def test_a_project_brands_its_centre_with_a_stylesheet_and_logo(
    centre_env: Mailbox, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    (project / "centre").mkdir(parents=True)
    for name in ("policy.yaml", "datamap.yaml"):
        shutil.copy(EXAMPLES / "mydigisoft" / name, project / name)
    plain = client(project).get("/privacy").text
    assert "/privacy/brand.css" not in plain
    assert client(project).get("/privacy/brand.css").status_code == 404
    (project / "centre" / "brand.css").write_text(":root { --brand: #7a0040; }\n")
    (project / "centre" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    c = client(project)
    page = c.get("/privacy").text
    assert '<link rel="stylesheet" href="/privacy/brand.css">' in page
    assert '<img src="/privacy/logo" alt="MyDigiSoft"' in page
    assert "#7a0040" in c.get("/privacy/brand.css").text
    assert c.get("/privacy/logo").headers["content-type"] == "image/svg+xml"


def test_objection_and_consent_withdrawal_through_the_request_form(centre_env: Mailbox) -> None:
    c = client(EXAMPLES / "mydigisoft")
    svc = c.app.state.services
    svc.ledger.record(NewEvent(ADA, "marketing_email", "given"))
    sent = ask(c, ADA, kind="withdraw_consent", consent="marketing_email")
    done = verify(c, sent.headers["location"], centre_env.code(ADA))
    assert done.headers["location"] == "/privacy/preferences?done=withdraw_consent"
    assert not svc.decider.allows(ADA, "marketing_email")  # at once, no request to wait for
    assert Requests(svc.engine, b"").list() == []
    sent = ask(c, ADA, kind="objection", purpose="marketing_email")
    verify(c, sent.headers["location"], centre_env.code(ADA, 2))
    (info,) = Requests(svc.engine, b"").list()
    assert (info.kind, info.status) == ("objection", "identity_verified")
    assert c.app.state.centre.centre.details(info.id) == {"purpose": "marketing_email"}
    bad = ask(c, ADA, kind="objection", purpose="no_such_purpose")
    assert bad.status_code == 400
    assert "choose the purpose" in bad.text


def test_the_whole_request_flow_on_a_postgresql_state_db(
    centre_env: Mailbox, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TROTH_DATABASE_URL", pg_url)
    c = client(EXAMPLES / "plus")
    sent = ask(c, ADA, kind="erasure")
    location = sent.headers["location"]
    code = centre_env.code(ADA)
    assert verify(c, location, f"{(int(code) + 1) % 10**6:06d}").status_code == 400
    done = verify(c, location, code)
    page = c.get(done.headers["location"])
    assert 'data-status="identity_verified"' in page.text
    assert c.app.state.services.engine.dialect.name == "postgresql"
    assert ADA not in _db_text(c)


def test_pages_speak_the_policys_language_from_a_project_catalogue(
    centre_env: Mailbox, tmp_path: Path
) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    project = tmp_path / "shop"
    project.mkdir()
    policy = (EXAMPLES / "mydigisoft" / "policy.yaml").read_text()
    assert "  language: en\n" in policy
    (project / "policy.yaml").write_text(policy.replace("  language: en\n", "  language: de\n"))
    shutil.copy(EXAMPLES / "mydigisoft" / "datamap.yaml", project / "datamap.yaml")
    catalog = Catalog(locale="de")
    catalog.add("Make a request", "Antrag stellen")
    catalog.add("Your privacy at %(name)s", "Ihre Privatsphäre bei %(name)s")
    catalog.add(
        (
            "That code is not right. You have %(left)d try left.",
            "That code is not right. You have %(left)d tries left.",
        ),
        (
            "Der Code stimmt nicht. Sie haben noch %(left)d Versuch.",
            "Der Code stimmt nicht. Sie haben noch %(left)d Versuche.",
        ),
    )
    folder = project / "locale" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "troth.mo").open("wb") as fh:
        write_mo(fh, catalog)
    c = client(project)
    home = c.get("/privacy").text
    assert '<html lang="de">' in home
    assert "Ihre Privatsphäre bei MyDigiSoft" in home
    assert "Antrag stellen" in home
    assert "Your preferences" in home  # not translated: English, the source language
    location = ask(c, ADA).headers["location"]
    code = centre_env.code(ADA)
    wrong = verify(c, location, f"{(int(code) + 1) % 10**6:06d}")
    assert "Sie haben noch 4 Versuche." in wrong.text


def test_a_scoped_map_asks_for_the_scope_and_files_the_request_in_it(
    centre_env: Mailbox, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    shutil.copy(EXAMPLES / "mydigisoft" / "policy.yaml", project / "policy.yaml")
    datamap = (EXAMPLES / "mydigisoft" / "datamap.yaml").read_text()
    marker = "          - name: customers\n            subject: customer\n"
    assert marker in datamap
    scoped = marker + "            scope: {tenant: country}\n"
    (project / "datamap.yaml").write_text(datamap.replace(marker, scoped))
    c = client(project)
    form = c.get("/privacy/request").text
    assert '<input type="text" name="scope_tenant" id="scope_tenant"' in form
    sent = ask(c, ADA, scope_tenant="acme")
    verify(c, sent.headers["location"], centre_env.code(ADA))
    (info,) = Requests(c.app.state.services.engine, b"").list()
    assert info.identity_names == ("email", "scope_tenant")
    assert c.app.state.centre.centre.details(info.id) == {"scope": {"tenant": "acme"}}
    assert ask(c, ADA, scope_region="x").status_code == 400  # not a scope of this map


def test_purposes_carried_out_for_other_businesses_name_them(
    centre_env: Mailbox, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    shutil.copy(EXAMPLES / "mydigisoft" / "datamap.yaml", project / "datamap.yaml")
    doc = yaml.safe_load((EXAMPLES / "mydigisoft" / "policy.yaml").read_text())
    (project / "policy.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    heading = "Data we handle for other businesses"
    assert heading not in client(project).get("/privacy").text  # every purpose its own
    purpose = doc["purposes"][0]
    purpose.update(role="processor", controllers=["Example Retail Ltd"])
    (project / "policy.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    c = client(project)
    for path in ("/privacy", "/privacy/request"):
        page = c.get(path).text
        assert heading in page
        assert f"{purpose['name']}: Example Retail Ltd" in page

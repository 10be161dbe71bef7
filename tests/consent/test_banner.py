"""The cookie banner in a real headless Chromium against a real `troth serve` (uvicorn thread).

Accept, reject, withdraw, GPC, keyboard-only and a policy version change; a screenshot goes to
``test-artifacts/``. Plus the banner endpoints without a browser (CSRF, GPC file, PL-13 config).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from servers import free_port
from troth.config import Settings
from troth.consent import ConsentLedger, EventKind
from troth.consent.subjects import read_visitor
from troth.web import create_app

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "tests" / "fixtures" / "cookieshop"
ARTIFACTS = ROOT / "test-artifacts"


@contextmanager
def _serve(app: Any, port: int) -> Iterator[str]:
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ConsentLedger]]:
    home = tmp_path_factory.mktemp("serve")
    settings = Settings.from_env({"TROTH_HOME": str(home), "TROTH_SECRET_KEY": "b" * 32})
    app = create_app(settings, SHOP)
    with _serve(app, free_port()) as base:
        yield base, app.state.services.ledger


def _wait(driver: Any, script: str, timeout: float = 10) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def _open(driver: Any, base: str) -> None:
    driver.get(base + "/consent/demo")
    _wait(driver, "return document.documentElement.getAttribute('data-troth-ready')")


def _posted(driver: Any) -> str:
    return str(_wait(driver, "return document.documentElement.getAttribute('data-troth-posted')"))


def _visitor(driver: Any, ledger: ConsentLedger) -> str:
    subject = read_visitor(ledger.key, driver.get_cookie("troth_vid")["value"])
    assert subject is not None  # a visitor id troth signed
    return subject


def _visitor_state(driver: Any, ledger: ConsentLedger) -> dict[str, EventKind]:
    return {cid: s.kind for cid, s in ledger.state(_visitor(driver, ledger)).items()}


def _cookies(driver: Any) -> set[str]:
    return {c["name"] for c in driver.get_cookies()}


def test_pl_13_cookie_preferences_accept_in_real_browser(driver: Any, server: Any) -> None:
    base, ledger = server
    _open(driver, base)
    dialog = driver.find_element("css selector", "[role=dialog]")
    assert dialog.get_attribute("aria-labelledby") == "troth-title"
    assert driver.execute_script("return window.analyticsLoaded === undefined")
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "cookie-banner.png"))
    reject = driver.find_element("id", "troth-reject")
    accept = driver.find_element("id", "troth-accept")
    for prop in ("font-size", "font-weight", "background-color", "color", "height"):
        assert reject.value_of_css_property(prop) == accept.value_of_css_property(prop), prop
    accept.click()
    assert _posted(driver) == "200"
    assert driver.execute_script("return window.analyticsLoaded && window.marketingLoaded")
    assert {"ps_stats", "ps_ads", "ps_theme"} <= _cookies(driver)
    assert set(_visitor_state(driver, ledger).values()) == {EventKind.given}


def test_reject_runs_no_script_and_records_refusal(driver: Any, server: Any) -> None:
    base, ledger = server
    _open(driver, base)
    driver.find_element("id", "troth-reject").click()
    assert _posted(driver) == "200"
    assert driver.execute_script(
        "return !window.analyticsLoaded && !window.marketingLoaded && !window.prefsLoaded"
    )
    assert not {"ps_stats", "ps_ads"} & _cookies(driver)
    assert set(_visitor_state(driver, ledger).values()) == {EventKind.refused}
    driver.refresh()  # the choice is remembered: no banner
    _wait(driver, "return document.documentElement.getAttribute('data-troth-ready')")
    assert not driver.find_elements("id", "troth-banner")


def test_withdraw_deletes_cookies_and_records_withdrawal(driver: Any, server: Any) -> None:
    base, ledger = server
    _open(driver, base)
    driver.find_element("id", "troth-accept").click()
    _posted(driver)
    assert "ps_stats" in _cookies(driver)
    driver.execute_script("document.documentElement.removeAttribute('data-troth-posted')")
    driver.find_element("css selector", "[data-troth-open]").click()
    box = driver.find_element("id", "troth-cat-analytics")
    assert box.is_selected()
    box.click()
    driver.find_element("id", "troth-save").click()
    assert _posted(driver) == "200"
    assert "ps_stats" not in _cookies(driver)
    state = _visitor_state(driver, ledger)
    assert state["cookie_analytics"] is EventKind.withdrawn
    assert state["cookie_marketing"] is EventKind.given


def test_gpc_honoured_shown_and_recorded(driver: Any, server: Any) -> None:
    base, ledger = server
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
            "{get: () => true, configurable: true});"
        },
    )
    _open(driver, base)
    note = driver.find_element("id", "troth-gpc-note")
    assert "Global Privacy Control" in note.text
    assert not driver.find_element("id", "troth-cat-marketing").is_enabled()
    driver.find_element("id", "troth-accept").click()
    assert _posted(driver) == "200"
    assert driver.execute_script("return window.analyticsLoaded === true")
    assert driver.execute_script("return window.marketingLoaded === undefined")
    state = _visitor_state(driver, ledger)
    assert state["cookie_marketing"] is EventKind.refused
    assert state["cookie_analytics"] is EventKind.given
    assert all(e.gpc for e in ledger.history(_visitor(driver, ledger)))


def test_keyboard_only(driver: Any, server: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    base, ledger = server
    _open(driver, base)
    assert driver.switch_to.active_element.get_attribute("id") == "troth-reject"
    ActionChains(driver).send_keys(Keys.TAB).send_keys(Keys.TAB).perform()
    assert driver.switch_to.active_element.get_attribute("id") == "troth-accept"
    ActionChains(driver).send_keys(Keys.TAB).perform()  # focus stays in the dialog
    assert driver.switch_to.active_element.get_attribute("id") == "troth-cat-preferences"
    ActionChains(driver).send_keys(Keys.SPACE).perform()  # tick preferences only
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert driver.switch_to.active_element.get_attribute("id") == "troth-save"
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    assert _posted(driver) == "200"
    state = _visitor_state(driver, ledger)
    assert state["cookie_preferences"] is EventKind.given
    assert state["cookie_analytics"] is EventKind.refused


def test_new_policy_version_asks_again(driver: Any, server: Any) -> None:
    base, _ledger = server
    _open(driver, base)
    driver.find_element("id", "troth-accept").click()
    _posted(driver)
    old = json.dumps({"v": "2.9", "c": {"analytics": True}, "g": False})
    driver.execute_script(
        "document.cookie = 'troth_consent=' + encodeURIComponent(arguments[0]) + '; path=/'", old
    )
    _open(driver, base)
    assert driver.find_elements("id", "troth-banner")
    assert driver.execute_script("return window.analyticsLoaded === undefined")


def _shop_page(troth: str) -> bytes:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shop</title>
<link rel="stylesheet" href="{troth}/static/troth-consent.css"></head><body><main>
<script type="text/plain" data-category="analytics">window.analyticsLoaded = true;</script>
<script src="{troth}/static/troth-consent.js"
        data-config="{troth}/consent/banner-config"></script></main></body></html>""".encode()


@contextmanager
def _shop_site(page: bytes) -> Iterator[str]:
    """A plain web server on another origin than troth that serves one shop page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("allowed", [True, False])
def test_banner_on_another_origin_works_only_with_allow_origin(
    driver: Any, tmp_path: Path, allowed: bool
) -> None:
    """A shop page on another origin loads the banner from troth and posts the choice: CORS
    preflight answered for an --allow-origin, refused otherwise."""
    port = free_port()
    troth = f"http://127.0.0.1:{port}"
    settings = Settings.from_env({"TROTH_HOME": str(tmp_path), "TROTH_SECRET_KEY": "c" * 32})
    with _shop_site(_shop_page(troth)) as shop:
        app = create_app(settings, SHOP, allowed_origins=(shop,) if allowed else ())
        ledger = app.state.services.ledger
        with _serve(app, port):
            driver.get(shop + "/")
            if not allowed:  # the browser refuses the cross-origin calls: no banner, no post
                outcome = driver.execute_async_script(
                    """var done = arguments[arguments.length - 1];
                    fetch(arguments[0], {method: "POST", credentials: "include",
                      headers: {"Content-Type": "application/json"}, body: "{}"})
                      .then(function (r) { done("status " + r.status); },
                            function () { done("refused"); });""",
                    troth + "/consent/browser",
                )
                assert outcome == "refused"
                assert not driver.find_elements("id", "troth-banner")
                assert ledger.count() == 0
                return
            _wait(driver, "return document.documentElement.getAttribute('data-troth-ready')")
            driver.find_element("id", "troth-accept").click()
            assert _posted(driver) == "200"
            assert driver.execute_script("return window.analyticsLoaded === true")
            assert set(_visitor_state(driver, ledger).values()) == {EventKind.given}


# --- without a browser --------------------------------------------------------------------------


@pytest.fixture
def shop_client(troth_env: Path) -> TestClient:
    return TestClient(create_app(Settings.from_env(), SHOP), raise_server_exceptions=False)


def test_browser_posts_are_csrf_safe(shop_client: TestClient) -> None:
    body = {"policy_version": "3.0", "choices": {"analytics": True}}
    evil = shop_client.post("/consent/browser", json=body, headers={"Origin": "https://evil.test"})
    assert evil.status_code == 403
    assert shop_client.post("/consent/browser", json=body).status_code == 403  # no Origin
    same = {"Sec-Fetch-Site": "same-origin"}
    ok = shop_client.post("/consent/browser", json=body, headers=same)
    assert ok.status_code == 200
    assert ok.json()["choices"]["analytics"] is True
    form = shop_client.post(
        "/consent/browser",
        content=json.dumps(body),
        headers={**same, "Content-Type": "text/plain"},
    )
    assert form.status_code in {415, 422}
    stale = shop_client.post(
        "/consent/browser",
        json={**body, "policy_version": "2.0"},
        headers=same,
    )
    assert stale.status_code == 422


def test_sec_gpc_header_honoured_and_gpc_json(shop_client: TestClient) -> None:
    body = {"policy_version": "3.0", "choices": {"marketing": True, "analytics": True}}
    r = shop_client.post(
        "/consent/browser", json=body, headers={"Sec-Fetch-Site": "same-origin", "Sec-GPC": "1"}
    )
    assert r.json()["choices"] == {
        "necessary": True,
        "analytics": True,
        "marketing": False,
        "preferences": False,
    }
    assert r.json()["gpc"] is True
    assert shop_client.get("/.well-known/gpc.json").json()["gpc"] is True
    js = shop_client.get("/static/troth-consent.js")
    assert "globalPrivacyControl" in js.text
    assert js.headers["content-type"].startswith("text/javascript")


def test_pl_13_cookie_preferences_config_for_plus(troth_env: Path) -> None:
    client = TestClient(create_app(Settings.from_env(), ROOT / "examples" / "plus"))
    cfg = client.get("/consent/banner-config").json()
    assert cfg["preferences"] == "browser_settings"
    cats = {c["id"]: c for c in cfg["categories"]}
    assert cats["necessary"]["required"] is True
    assert cats["analytics"]["consents"] == ["cookies_browser_settings"]

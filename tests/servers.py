"""Start a real `troth serve` process for a test (free port, wait for /healthz), and drive it in a
real headless Chromium: the ``driver`` and ``axe_js`` fixtures (import them into a conftest), a
form's ``submit``, and the axe-core check of a page."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
AXE_CACHE = ROOT / ".cache" / "axe"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def troth_command() -> str:
    return shutil.which("troth", path=str(Path(sys.executable).parent)) or "troth"


def start_serve(
    project: Path, url: str, env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """`troth serve PROJECT --db URL` on a free port; the process and its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [troth_command(), "serve", str(project), "--port", str(port), "--db", url],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"troth serve did not start (exit {proc.poll()})")


def missing(msg: str) -> NoReturn:
    """A tool the test needs is missing: skipped, or failed with ``CI=true``."""
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def axe_js() -> str:
    """axe-core from npm, installed once into a cache folder of the test run."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            missing("npm missing: it installs axe-core for the accessibility checks")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(npm), "install", "--no-audit", "--no-fund", "--silent", "axe-core@4"],
            cwd=AXE_CACHE,
            check=True,
            timeout=300,
        )
    return script.read_text()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium; what it downloads lands in ``driver.downloads``."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        missing("chromium/chromedriver missing: run scripts/ci-services.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        opts.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    drv.set_page_load_timeout(30)
    drv.downloads = downloads
    try:
        yield drv
    finally:
        drv.quit()


def axe_check(driver: Any, axe_js: str, artifacts: Path, name: str) -> None:
    """No axe-core violation (WCAG 2.0/2.1/2.2 A and AA rules); a screenshot ``name.png`` into
    *artifacts*."""
    artifacts.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(artifacts / f"{name}.png"))
    driver.execute_script(axe_js)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
        ".then(r => done(JSON.stringify(r.violations.map(v => [v.id, v.nodes.length]))))"
        ".catch(e => done('error: ' + e));"
    )
    assert result == "[]", f"{name}: {result}"


def by_id(driver: Any, ident: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, ident)


def _gone(element: Any) -> bool:
    """Whether *element*'s page was replaced. Chromium answers a node of a page being replaced
    with "does not belong to the document" rather than selenium's stale element: both mean gone."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one too
        return True
    return False


def submit(driver: Any, selector: str = "main form button[type=submit]") -> None:
    """Click the form's button and wait until the next page replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    for attempt in range(3):
        old = driver.find_element(By.TAG_NAME, "html")
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
        except WebDriverException:  # the page moved under the click
            if _gone(old):
                break  # the click went through: the next page is loading
            if attempt == 2:
                raise
            time.sleep(0.3)
            continue
        break
    WebDriverWait(driver, 30).until(lambda _d: _gone(old))

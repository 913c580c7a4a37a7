"""The console in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``)
driven by Selenium logs in, finds the demo's dossier, opens its timeline, retries a dead letter
and downloads an evidence bundle. Screenshots of the main pages are written to
``$CONNECTOR_SCREENSHOTS`` (default ``.artifacts/screenshots``; the README's come from
``CONNECTOR_SCREENSHOTS=docs/screenshots``).

Without a browser the test skips and says why, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from connector.store import OutboxState
from signing import CONNECTOR_ORG, SignerPin, verify_bundle
from simulators import guide
from tests.admin.conftest import PASSWORDS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def screenshots() -> Path:
    folder = ROOT / os.environ.get("CONNECTOR_SCREENSHOTS", ".artifacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(tmp_path) -> Iterator[object]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        reason = "headless Chromium not installed (Debian packages chromium, chromium-driver; .ci/ensure-tools)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: required under CI")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.downloads = downloads  # type: ignore[attr-defined]
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def wait_for_file(folder: Path, suffix: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file downloaded into {folder}: {[p.name for p in folder.iterdir()]}")


def test_an_operator_works_through_the_console(console, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = screenshots()
    browser.get(f"{console.url}/admin/exchanges")  # not logged in: to the login form
    assert browser.current_url.endswith("/admin/login")
    browser.save_screenshot(str(shots / "login.png"))
    browser.find_element(By.ID, "username").send_keys("an")
    browser.find_element(By.ID, "password").send_keys(PASSWORDS["an"])
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/admin/partners"))
    row = browser.find_element(By.ID, "partner-eoffice-stp")  # its delivery is a dead letter
    assert "partner unreachable" in row.text and "transport:" not in row.text  # the raw text is folded
    row.find_element(By.TAG_NAME, "summary").click()
    assert "transport:" in row.find_element(By.CSS_SELECTOR, "details code").text
    browser.save_screenshot(str(shots / "partners.png"))

    browser.get(f"{console.url}/admin/exchanges")
    browser.find_element(By.ID, "q").send_keys(guide.DOSSIER_CODE)
    browser.find_element(By.ID, "search").click()
    WebDriverWait(browser, 10).until(lambda b: "q=" in b.current_url)
    links = browser.find_elements(By.CLASS_NAME, "exchange-link")
    assert [link.text for link in links] == [guide.DOSSIER_CODE]
    browser.save_screenshot(str(shots / "exchanges.png"))

    links[0].click()
    assert browser.find_element(By.ID, "state").text == "Đã phân công assigned"  # the label, then the code
    rows = browser.find_element(By.ID, "timeline").find_elements(By.TAG_NAME, "tr")[1:]
    states = [row.find_elements(By.TAG_NAME, "td")[1].find_element(By.TAG_NAME, "code").text for row in rows]
    assert states[:2] == ["accepted", "assigned"]  # then the transport events of the failed deliveries
    verdicts = [v.text for v in browser.find_elements(By.CLASS_NAME, "verdict")]
    assert len(verdicts) == 2 and all(v.startswith("Hợp lệ / valid") for v in verdicts)
    browser.save_screenshot(str(shots / "timeline.png"))

    browser.find_element(By.ID, "bundle").click()
    bundle = wait_for_file(browser.downloads, ".zip")
    ca = x509.load_pem_x509_certificates(console.live.runtime.dev_keys.ca_path.read_bytes())
    verdict = verify_bundle(bundle.read_bytes(), ca, SignerPin(organ_id=CONNECTOR_ORG.organ_id))
    assert verdict.valid, verdict.failures

    browser.get(f"{console.url}/admin/outbox?state=dead")
    browser.save_screenshot(str(shots / "outbox.png"))
    row = browser.find_element(By.ID, f"item-{console.dead_item}")  # the read-only test below uses the other
    row.find_element(By.CLASS_NAME, "retry").click()
    browser.find_element(By.ID, "confirm").click()  # a retry asks first
    assert str(console.dead_item) in browser.find_element(By.ID, "notice").text
    assert console.live.runtime.store.outbox_item(console.dead_item).state is OutboxState.PENDING

    browser.get(f"{console.url}/admin/evidence?verify=1")
    assert browser.find_element(By.ID, "chain-ok")
    browser.save_screenshot(str(shots / "evidence.png"))
    browser.get(f"{console.url}/admin/certificates")
    browser.save_screenshot(str(shots / "certificates.png"))


def test_a_read_only_operator_sees_no_buttons(console, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{console.url}/admin/login")
    browser.find_element(By.ID, "username").send_keys("binh")
    browser.find_element(By.ID, "password").send_keys(PASSWORDS["binh"])
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/admin/partners"))
    browser.get(f"{console.url}/admin/outbox?state=dead")
    browser.implicitly_wait(0)
    assert browser.find_element(By.ID, f"item-{console.dead_items[1]}")
    assert browser.find_elements(By.CLASS_NAME, "retry") == []
    browser.get(f"{console.url}/admin/evidence")
    assert browser.find_elements(By.ID, "sign-head") == []

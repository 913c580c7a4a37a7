"""A real browser on a live console: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium, and what the browser tests do with it."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.admin.conftest import PASSWORDS, Console

ROOT = Path(__file__).resolve().parents[2]


def require_chromium() -> tuple[str, str]:
    """Chromium and its driver; else a skip that says why, or a failure under CI (``CI`` set)."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        reason = "headless Chromium not installed (Debian packages chromium, chromium-driver; .ci/ensure-tools)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: required under CI")
        pytest.skip(reason)
    return chromium, chromedriver


def start_chromium(chromium: tuple[str, str], folder: Path) -> WebDriver:
    """Headless, its profile and downloads (``folder/downloads``) in ``folder``."""
    binary, chromedriver = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={folder / 'profile'}",
    ):
        options.add_argument(flag)
    (folder / "downloads").mkdir()
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(folder / "downloads"), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.implicitly_wait(5)
    return driver


def screenshots() -> Path:
    """``$CONNECTOR_SCREENSHOTS`` (default ``.artifacts/screenshots``; the README's come from
    ``CONNECTOR_SCREENSHOTS=docs/screenshots``)."""
    folder = ROOT / os.environ.get("CONNECTOR_SCREENSHOTS", ".artifacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Ui:
    """A browser on a live console, and the operator it is logged in as (None: nobody)."""

    driver: WebDriver
    console: Console
    downloads: Path
    user: str | None = None

    def open(self, path: str) -> None:
        self.driver.get(f"{self.console.url}{path}")

    def one(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        """Every match, without waiting for one to appear (an empty answer is an answer)."""
        self.driver.implicitly_wait(0)
        try:
            return self.driver.find_elements(By.CSS_SELECTOR, css)
        finally:
            self.driver.implicitly_wait(5)

    def click(self, element: WebElement) -> None:
        """Click a link or a button and wait for the page it leads to."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        WebDriverWait(self.driver, 10).until(lambda _: _left(page))

    @property
    def path(self) -> str:
        """The current page's path and query."""
        return self.driver.current_url.removeprefix(self.console.url)

    def login(self, name: str) -> None:
        """Log in as ``name`` through the login form, unless already logged in as them."""
        if self.user == name:
            return
        self.logout()
        self.open("/admin/login")
        self.one("#username").send_keys(name)
        self.one("#password").send_keys(PASSWORDS[name])
        self.click(self.one("#login"))
        assert self.path == "/admin/partners"  # the landing page
        self.user = name

    def logout(self) -> None:
        self.driver.delete_all_cookies()
        self.user = None

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(screenshots() / name))


def _left(page: WebElement) -> bool:
    """Whether the browser has left ``page``. Mid-navigation Chromium may answer that the node
    "does not belong to the document" rather than that it is stale: both mean gone."""
    try:
        page.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


def wait_for_file(folder: Path, suffix: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file downloaded into {folder}: {[p.name for p in folder.iterdir()]}")

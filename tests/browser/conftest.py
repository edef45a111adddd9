"""A real service (gunicorn, demo data on a SQLite file) and a real Chromium at handheld size.

Chromium is Debian's (Playwright's own browser download cannot be used); set
WAREHOUSE_TEST_CHROMIUM to use another binary. A missing browser fails these tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import running_service, warehouse_command

HANDHELD = {"width": 360, "height": 640}


def chromium_path() -> str:
    path = os.environ.get("WAREHOUSE_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Chromium is not installed: the README's test command installs it.", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the demo warehouse's SQLite file that live_server serves."""
    url = f"sqlite:///{tmp_path_factory.mktemp('live')}/warehouse.sqlite3"
    warehouse_command(url, "init")
    warehouse_command(url, "demo")
    return url


@pytest.fixture(scope="session")
def live_server(live_database: str) -> Iterator[str]:
    """The service under gunicorn with the demo warehouse; yields its base URL."""
    with running_service(live_database) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=HANDHELD, has_touch=True, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


def scan(page: Page, code: str) -> None:
    """Type a code as a keyboard-wedge scanner does: keys a few ms apart, then Enter."""
    page.keyboard.type(code, delay=4)
    page.keyboard.press("Enter")


def sign_in(page: Page, live_server: str, badge: str, pin: str, role: str) -> None:
    """Sign in on the handheld as a demo person: scan the badge, then type the PIN."""
    page.goto(live_server + "/login")
    scan(page, badge)
    expect(page.get_by_label(f"PIN for badge {badge}")).to_be_focused()
    scan(page, pin)
    expect(page.get_by_test_id("who")).to_contain_text(role)

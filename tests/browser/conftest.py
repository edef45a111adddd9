"""A real service (gunicorn, demo data on a SQLite file) and a real Chromium at handheld size.

Chromium is Debian's (Playwright's own browser download cannot be used); set
WAREHOUSE_TEST_CHROMIUM to use another binary. A missing browser fails these tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
WAREHOUSE = Path(sys.executable).parent / "warehouse"
HANDHELD = {"width": 360, "height": 640}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str:
    path = os.environ.get("WAREHOUSE_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Chromium is not installed: the README's test command installs it.", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service under gunicorn with the demo warehouse; yields its base URL."""
    home = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
        "WAREHOUSE_DATABASE_URL": f"sqlite:///{home}/warehouse.sqlite3",
    }
    for command in (["init"], ["demo"]):
        subprocess.run([str(WAREHOUSE), *command], env=env, check=True, capture_output=True)
    port = free_port()
    log = (home / "serve.log").open("w")
    server = subprocess.Popen(
        [str(WAREHOUSE), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the service did not start:\n{(home / 'serve.log').read_text()}")
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=15)


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

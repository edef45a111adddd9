"""A real service (gunicorn, demo data on a SQLite file) and a real Chromium at handheld size.

Chromium is Debian's (Playwright's own browser download cannot be used); set
WAREHOUSE_TEST_CHROMIUM to use another binary. A missing browser fails these tests.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.conftest import REPO, order_body, random_gtin13, ref, running_service, warehouse_command
from warehouse import accounts
from warehouse.config import load_config
from warehouse.db import make_engine, make_sessionmaker, writing

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
    """Type a code as a keyboard-wedge scanner does: keys 4 ms apart, then Enter."""
    page.keyboard.type(code, delay=4)
    page.keyboard.press("Enter")


def sign_in(page: Page, live_server: str, badge: str, pin: str, role: str) -> None:
    """Sign in on the handheld as a demo person: scan the badge, then type the PIN."""
    page.goto(live_server + "/login")
    scan(page, badge)
    expect(page.get_by_label(f"PIN for badge {badge}")).to_be_focused()
    scan(page, pin)
    expect(page.get_by_test_id("who")).to_contain_text(role)


def message(page: Page) -> Locator:
    """What a floor page says about the last scan or button: good, warn or bad."""
    return page.locator("[data-message]")


def expect_sound(page: Page, sound: str) -> None:
    expect(page.locator("body")).to_have_attribute("data-played", sound)


def expect_refused(page: Page, text: str) -> None:
    """The last event was refused, named in the message, with the bad sound."""
    expect(message(page)).to_contain_text(text)
    expect(message(page)).to_have_class("message bad")
    expect_sound(page, "bad")


@contextmanager
def answered(page: Page, events: int = 1) -> Iterator[None]:
    """Wait, after the block, until the floor page has the answers of `events` more events
    (scans or buttons) and none of its own waits to be sent."""
    flow = page.locator("[data-flow]")
    before = int(flow.get_attribute("data-answered") or 0)
    yield
    # Events are sent one after the other: allow each its round trip on a loaded machine.
    timeout = max(5000, 250 * events)
    expect(flow).to_have_attribute("data-answered", str(before + events), timeout=timeout)
    expect(flow).to_have_attribute("data-waiting", "0")


def scan_and_wait(page: Page, code: str) -> None:
    """Scan on a floor page and wait for its answer (the panel redrawn, no page load)."""
    with answered(page):
        scan(page, code)


def open_flow(page: Page, url: str) -> None:
    """Open a floor page; a station bookmark's page first sets its station, as an event."""
    page.goto(url)
    flow = page.locator("[data-flow]")
    if flow.get_attribute("data-station") is not None:
        expect(flow).to_have_attribute("data-answered", "1")
    expect(flow).to_have_attribute("data-waiting", "0")


@dataclass
class Ground:
    """What one run on the live service works on: its own people, products, bins, orders
    and one pick list for the orders."""

    api: httpx.Client
    people: dict[str, tuple[str, str, int]]  # role: (badge, pin, user id)
    skus: dict[str, str]  # key: SKU
    ean: dict[str, str]  # SKU: its unit barcode
    bins: dict[str, str]  # key: the bin holding it; "in": an empty one
    orders: dict[str, int]
    pick_list: int


def _person(url: str, role: str) -> tuple[str, str, int]:
    config = load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": url})
    engine = make_engine(config.database)
    with writing(make_sessionmaker(engine)) as session:
        made = accounts.add_user(session, ref(role), role, config.auth)
        assert made.badge and made.pin
        found = (made.badge, made.pin, made.user.id)
    engine.dispose()
    return found


def _new_bin(api: httpx.Client, aisle: int) -> str:
    while True:
        code = f"A0{aisle}-{random.randint(1, 8):02d}-{random.randint(1, 9)}"
        if api.get(f"/api/locations/{code}").status_code == 404:
            assert api.put(f"/api/locations/{code}", json={}).status_code == 201
            return code


def make_ground(
    base: str, url: str, stock: dict[str, int], orders: dict[str, dict[str, int]]
) -> Ground:
    """Products by key with `stock` units each in a bin of their own (one aisle each), the
    orders ({name: {key: units}}) on a new channel, one pick list for them, and a new
    receiver, picker and packer."""
    token = warehouse_command(url, "token", "create", "ada").strip().split()[-1]
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    channel = ref("ch").lower()
    assert api.put(f"/api/channels/{channel}", json={"name": channel}).status_code == 201
    skus, ean, bins = {}, {}, {}
    for aisle, (key, qty) in enumerate(stock.items(), start=1):
        sku, unit = ref("SKU"), random_gtin13()
        body = {"name": f"Item {key}", "barcodes": [unit], "weight_g": 100 * aisle}
        assert api.put(f"/api/products/{sku}", json=body).status_code == 201
        skus[key], ean[sku], bins[key] = sku, unit, _new_bin(api, 1 + (aisle - 1) % 5)
        receipt = {"sku": sku, "location": bins[key], "qty": qty}
        assert api.post("/api/stock/receipts", json=receipt).status_code == 201
    bins["in"] = _new_bin(api, 5)
    placed = {}
    for name, lines in orders.items():
        answer = api.post(
            f"/api/channels/{channel}/orders",
            json=order_body({skus[key]: qty for key, qty in lines.items()}),
        )
        assert answer.status_code == 201 and answer.json()["status"] == "reserved", answer.text
        placed[name] = answer.json()["id"]
    made = api.post("/api/pick-lists", json={"orders": list(placed.values())})
    assert made.status_code == 201, made.text
    people = {role: _person(url, role) for role in ("receiver", "picker", "packer")}
    return Ground(api, people, skus, ean, bins, placed, made.json()["id"])

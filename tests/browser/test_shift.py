"""A shift on the handheld, as fast as a scanner goes: a receive, a count, a batch pick with one
short pick, a pack into two cartons and the dock, with scans 0, 30 and 60 ms apart on a
Chromium throttled 4x with 60 ms of added latency, and once with the network cut in the middle
of the pick and of the pack. Afterwards every scan is in the scan log exactly once, the stock
is what was scanned, the short-picked order waits for its missing unit, and `warehouse check`
holds."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from tests.browser.conftest import HANDHELD, Ground, make_ground, sign_in
from tests.conftest import REPO, warehouse_command
from warehouse.config import load_config
from warehouse.db import make_engine, make_sessionmaker
from warehouse.models import ScanLog, User


@dataclass
class Hand:
    """A handheld page and the events it sent since it was opened, to wait for their answers."""

    page: Page
    sent: int = 0
    gap_ms: int = 0
    codes: list[str] = field(default_factory=list)

    def open(self, base: str, path: str) -> None:
        self.page.goto(base + path)
        self.sent = 0

    def scan(self, *codes: str) -> None:
        """Scans one after the other, `gap_ms` apart, not waiting for any answer."""
        for code in codes:
            self.page.keyboard.type(code, delay=4)
            self.page.keyboard.press("Enter")
            self.sent += 1
            self.codes.append(code)
            if self.gap_ms:
                self.page.wait_for_timeout(self.gap_ms)

    def press(self, name: str | re.Pattern[str]) -> None:
        exact = None if isinstance(name, re.Pattern) else True
        self.page.get_by_role("button", name=name, exact=exact).click()
        self.sent += 1

    def settle(self) -> None:
        """Every event of this page answered."""
        root = self.page.locator("[data-flow]")
        expect(root).to_have_attribute("data-answered", str(self.sent), timeout=20_000)
        expect(root).to_have_attribute("data-waiting", "0")

    def said(self) -> str:
        return self.page.locator("[data-message]").inner_text()


class Handheld:
    """A slow handheld on a slow network: CPU 4x slower, 60 ms added to every request; its
    network can be cut and brought back."""

    def __init__(self, context: BrowserContext, page: Page):
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        self.cdp.send("Network.enable")
        self.network(True)

    def network(self, up: bool) -> None:
        conditions = {"latency": 60, "downloadThroughput": -1, "uploadThroughput": -1}
        self.cdp.send("Network.emulateNetworkConditions", {"offline": not up, **conditions})


def _sign_in(hand: Hand, base: str, ground: Ground, role: str) -> None:
    hand.page.context.clear_cookies()
    badge, pin, _ = ground.people[role]
    sign_in(hand.page, base, badge, pin, role)


def _on_hand(ground: Ground, key: str) -> int:
    return int(ground.api.get(f"/api/stock/{ground.skus[key]}").json()["on_hand"])


def _receive_and_count(hand: Hand, base: str, ground: Ground) -> None:
    _sign_in(hand, base, ground, "receiver")
    hand.open(base, "/receive")
    unit = ground.ean[ground.skus["a"]]
    hand.scan(ground.bins["in"], unit, unit, unit)
    hand.settle()
    print(hand.said(), hand.page.locator("[data-refused]").inner_text())
    expect(hand.page.get_by_label("Units")).to_have_value("3")
    hand.press("Receive")
    hand.settle()
    assert hand.said().startswith(f"Received 3 of {ground.skus['a']} at {ground.bins['in']}")
    # The count: four units scanned; Enter in the count box books nothing by itself.
    hand.open(base, "/count")
    unit = ground.ean[ground.skus["d"]]
    hand.scan(ground.bins["d"], unit, unit, unit, unit)
    hand.settle()
    box = hand.page.get_by_label(f"Counted {ground.skus['d']}")
    expect(box).to_have_value("4")
    box.click()
    hand.page.keyboard.type("4")
    hand.page.keyboard.press("Enter")
    expect(hand.page.get_by_test_id("finish")).to_be_visible()
    assert _on_hand(ground, "d") == 4
    hand.press("Finish this bin")
    hand.settle()
    assert hand.said() == f"Counted {ground.bins['d']}: no differences. Scan the next bin."


def _pick(hand: Hand, base: str, ground: Ground, cut: Handheld | None) -> None:
    _sign_in(hand, base, ground, "picker")
    hand.open(base, "/pick")
    hand.page.get_by_test_id(f"pick-list-{ground.pick_list}").click()
    hand.sent += 1
    hand.settle()
    first = random.randrange(10_000, 99_000)
    hand.scan(f"T{first:05d}", f"T{first + 1:05d}")
    hand.settle()
    short = ground.skus["c"]
    stops = 0
    while hand.page.get_by_test_id("stop").count():
        stops += 1
        assert stops < 10, "the list does not end"
        where = hand.page.get_by_test_id("stop").inner_text()
        take = int(hand.page.get_by_test_id("take").inner_text())
        tote = hand.page.get_by_test_id("tote").inner_text()
        sku = next(sku for sku in ground.ean if sku in hand.page.locator(".item").inner_text())
        expect(hand.page.get_by_test_id("cart-slot")).to_have_text(re.compile(r"^\d$"))
        if sku == short:
            # Only 2 of the 3 are in the bin: "Not enough here", no other bin has it.
            hand.scan(where, ground.ean[sku], ground.ean[sku])
            hand.settle()
            hand.page.get_by_text("Not enough here?").click()
            hand.page.get_by_label("Units found").fill("2")
            hand.press("Short pick")
            hand.settle()
            assert "Short pick noted" in hand.said()
            expect(hand.page.locator("body")).to_have_attribute("data-played", "warn")
            continue
        if cut is not None and stops == 1:
            cut.network(False)
            hand.scan(where, *[ground.ean[sku]] * take, tote)
            expect(hand.page.locator("[data-queue]")).to_contain_text("No connection")
            cut.network(True)
        else:
            hand.scan(where, *[ground.ean[sku]] * take, tote)
        hand.settle()
        assert hand.said().startswith(f"Picked {take} into {tote}"), hand.said()
    assert hand.said().endswith(f"List {ground.pick_list} is done: take the cart to packing.")


def _pack_and_load(hand: Hand, base: str, ground: Ground, cut: Handheld | None) -> None:
    _sign_in(hand, base, ground, "packer")
    hand.open(base, "/pack")
    order = ground.orders["whole"]
    hand.scan(f"O{order:08d}")
    hand.settle()
    expect(hand.page.get_by_test_id("order")).to_have_text(str(order))
    for number, (key, units, grams) in enumerate((("a", 2, 200), ("b", 1, 200)), start=1):
        hand.press(re.compile("^Medium box"))
        hand.settle()
        if cut is not None and number == 1:
            cut.network(False)
            hand.scan(*[ground.ean[ground.skus[key]]] * units)
            expect(hand.page.locator("[data-queue]")).to_contain_text("No connection")
            cut.network(True)
        else:
            hand.scan(*[ground.ean[ground.skus[key]]] * units)
        hand.settle()
        weight = hand.page.get_by_label(f"Weight of carton {number} (kg)")
        weight.fill(f"{(grams + 300) / 1000:.3f}")
        hand.press(f"Close carton {number}")
        hand.settle()
        assert hand.said().startswith(f"Carton {number} closed"), hand.said()
    expect(hand.page.get_by_test_id("order-packed")).to_contain_text("packed: 2 cartons")
    shipped = ground.api.get(f"/api/orders/{order}").json()["shipments"][-1]["id"]
    cartons = ground.api.get(f"/api/shipments/{shipped}").json()["cartons"]
    hand.open(base, "/dock")
    hand.scan(f"O{order:08d}", *[f"]C100{carton['sscc']}" for carton in cartons])
    hand.settle()
    assert hand.said().endswith(f"Order {order} has shipped."), hand.said()


def _scans_logged(url: str, ground: Ground) -> dict[str, int]:
    config = load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": url})
    engine = make_engine(config.database)
    ids = [person[2] for person in ground.people.values()]
    with make_sessionmaker(engine)() as session:
        rows = session.execute(
            select(ScanLog.raw, func.count(), func.count(func.distinct(ScanLog.scan_id)))
            .join(User, User.id == ScanLog.user_id)
            .where(ScanLog.user_id.in_(ids))
            .group_by(ScanLog.raw)
        ).all()
    engine.dispose()
    assert all(count == distinct for _, count, distinct in rows)
    return {raw: count for raw, count, _ in rows}


@pytest.fixture
def ground(live_server: str, live_database: str) -> Iterator[Ground]:
    made = make_ground(
        live_server,
        live_database,
        stock={"a": 10, "b": 2, "c": 5, "d": 4},
        orders={"whole": {"a": 2, "b": 1}, "short": {"c": 3}},
    )
    yield made
    made.api.close()


@pytest.mark.parametrize(
    ("gap_ms", "cut"),
    [(0, False), (30, False), (60, False), (30, True)],
    ids=["0ms", "30ms", "60ms", "network-cut"],
)
def test_a_shift_at_scanner_speed(
    browser: Browser, live_server: str, live_database: str, ground: Ground, gap_ms: int,
    cut: bool, tmp_path: Path,
) -> None:  # fmt: skip
    context = browser.new_context(viewport=HANDHELD, has_touch=True, is_mobile=True)
    page = context.new_page()
    handheld = Handheld(context, page)
    hand = Hand(page, gap_ms=gap_ms)
    page.on(
        "request",
        lambda r: print("REQ", r.method, r.url, r.post_data) if "/api/floor" in r.url else None,
    )
    page.on(
        "response",
        lambda r: (
            print(
                "RESP",
                r.status,
                r.url,
                r.json().get("message")
                if "/api/floor" in r.url and r.request.method == "POST"
                else "",
            )
            if "/api/floor" in r.url
            else None
        ),
    )
    try:
        _receive_and_count(hand, live_server, ground)
        _pick(hand, live_server, ground, handheld if cut else None)
        _pack_and_load(hand, live_server, ground, handheld if cut else None)
        page.screenshot(path=str(tmp_path / "shipped.png"))
    finally:
        context.close()
    # Every scan typed is in the log exactly once, and nothing else is.
    logged = _scans_logged(live_database, ground)
    scanned = dict(Counter(hand.codes))
    assert {code: logged.get(code) for code in scanned} == scanned
    # The stock is what was scanned: 3 of A received, 2 shipped; D counted as it was.
    assert (_on_hand(ground, "a"), _on_hand(ground, "b"), _on_hand(ground, "d")) == (11, 1, 4)
    whole = ground.api.get(f"/api/orders/{ground.orders['whole']}").json()
    assert whole["status"] == "shipped"
    short = ground.api.get(f"/api/orders/{ground.orders['short']}").json()
    assert short["status"] != "shipped"
    (line,) = short["lines"]
    assert line["backordered"] == 1, line
    assert "All stock invariants hold" in warehouse_command(live_database, "check")


def test_scans_are_kept_across_an_idle_sign_out_and_a_closed_tab(
    browser: Browser, live_server: str, live_database: str, ground: Ground
) -> None:
    context = browser.new_context(viewport=HANDHELD, has_touch=True, is_mobile=True)
    handheld = Handheld(context, context.new_page())
    hand = Hand(context.pages[0], gap_ms=30)
    badge, pin, _ = ground.people["receiver"]
    bin_, unit = ground.bins["in"], ground.ean[ground.skus["a"]]
    try:
        _sign_in(hand, live_server, ground, "receiver")
        hand.open(live_server, "/receive")
        hand.scan(bin_)
        hand.settle()
        # Signed out while idle (the session ended): the next scans wait, and say so.
        context.clear_cookies()
        hand.scan(unit, unit)
        dialog = hand.page.locator("[data-signin-dialog]")
        expect(dialog).to_be_visible()
        expect(hand.page.locator("[data-queue]")).to_contain_text("Signed out: 2 waiting")
        expect(hand.page.locator("body")).not_to_have_attribute("data-played", "good")
        # Signing in again on the same page goes on where the flow was.
        hand.page.keyboard.type(badge, delay=4)
        hand.page.keyboard.press("Enter")
        expect(dialog.get_by_label(f"PIN for badge {badge}")).to_be_visible()
        hand.page.keyboard.type(pin, delay=4)
        hand.page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        hand.settle()
        expect(hand.page.get_by_label("Units")).to_have_value("2")
        # The network drops; a scan is made and the tab closed before it could be sent.
        handheld.network(False)
        hand.scan(unit)
        expect(hand.page.locator("[data-queue]")).to_contain_text("No connection: 1 waiting")
        hand.page.close()
        page = context.new_page()
        handheld = Handheld(context, page)
        hand = Hand(page)
        hand.open(live_server, "/receive")
        expect(page.get_by_label("Units")).to_have_value("3")
        hand.press("Receive")
        hand.settle()
        assert hand.said().startswith(f"Received 3 of {ground.skus['a']} at {bin_}")
    finally:
        context.close()
    assert _scans_logged(live_database, ground) == {bin_: 1, unit: 3, "receive: receive": 1}
    assert _on_hand(ground, "a") == 13


def test_the_traps_of_a_tired_worker_book_nothing(
    browser: Browser, live_server: str, live_database: str, ground: Ground
) -> None:
    context = browser.new_context(viewport=HANDHELD, has_touch=True, is_mobile=True)
    hand = Hand(context.new_page())
    unit = ground.ean[ground.skus["a"]]
    played = hand.page.locator("body")
    try:
        _sign_in(hand, live_server, ground, "receiver")
        hand.open(live_server, "/receive")
        hand.scan(ground.bins["in"], unit)
        hand.settle()
        # The item scanned again with the focus in Units: one more unit, never a quantity.
        hand.page.get_by_label("Units").click()
        hand.scan(unit)
        hand.settle()
        expect(hand.page.get_by_label("Units")).to_have_value("2")
        # A barcode typed into Units, and more than a receipt may hold: refused, red.
        for typed, why in (("6141410000981", "looks like a scanned barcode"),
                           ("10001", "10000 at most")):  # fmt: skip
            hand.page.get_by_label("Units").fill(typed)
            hand.page.get_by_label("Units").press("Enter")
            hand.sent += 1
            hand.settle()
            assert why in hand.said()
            expect(hand.page.locator("[data-message]")).to_have_class("message bad")
            expect(played).to_have_attribute("data-played", "bad")
        hand.press("Cancel")
        hand.settle()
        expect(hand.page.locator("[data-message]")).to_have_class("message warn")
        # Counting: Enter in a count box books nothing; an item left uncounted stops Finish.
        hand.open(live_server, "/count")
        hand.scan(ground.bins["a"])
        hand.settle()
        box = hand.page.get_by_label(f"Counted {ground.skus['a']}")
        box.click()
        hand.page.keyboard.type("3")
        hand.page.keyboard.press("Enter")
        hand.sent += 1
        hand.settle()
        assert hand.said() == f"{ground.skus['a']}: 3."
        # Emptied again and left: nothing is sent for an empty box.
        hand.page.get_by_label(f"Counted {ground.skus['a']}").fill("")
        hand.press("Cancel this count")
        hand.settle()
        # Packing: an item scanned before a box is chosen is refused, said, and kept out.
        _sign_in(hand, live_server, ground, "packer")
        hand.open(live_server, "/pack")
        hand.scan(unit)
        hand.settle()
        assert "not an order or a tote" in hand.said()
        expect(played).to_have_attribute("data-played", "bad")
    finally:
        context.close()
    assert _on_hand(ground, "a") == 10
    assert "All stock invariants hold" in warehouse_command(live_database, "check")

"""Packing a demo order into two cartons on the handheld by scans at scanner speed, with a
wrong item refused, in Chromium at 360x640; the labels reach a printer listener and are
scanned back at the dock, and a returned unit goes to quarantine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from tests.browser.conftest import (
    answered,
    expect_refused,
    expect_sound,
    message,
    open_flow,
    scan_and_wait,
    sign_in,
)
from tests.browser.test_pick import ean_of
from tests.conftest import REPO, free_port, running_service, warehouse_command
from tests.printer import FakePrinter
from warehouse import pick_lists, picking
from warehouse.config import Config, load_config
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.errors import WarehouseError
from warehouse.models import Order, OrderLine, Product, User


@pytest.fixture(scope="module")
def printer_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def pack_server(
    live_database: str, printer_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The service with station pack1's label printer on a port of the test's own."""
    text = (REPO / "config.toml").read_text()
    config_file = Path(tmp_path_factory.mktemp("pack")) / "config.toml"
    config_file.write_text(text.replace("port = 9100", f"port = {printer_port}", 1))
    with running_service(live_database, env={"WAREHOUSE_CONFIG": str(config_file)}) as base:
        yield base


def picked_order(url: str) -> tuple[int, list[str]]:
    """A demo order of three to eight units of two or more items, picked into a tote; its units' SKUs."""
    config = load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": url})
    engine = make_engine(config.database)
    with writing(make_sessionmaker(engine)) as session:
        picker = session.scalars(select(User).where(User.badge == "U000004")).one()
        several = (
            select(OrderLine.order_id)
            .group_by(OrderLine.order_id)
            .having(func.sum(OrderLine.qty).between(3, 8), func.count() >= 2)
        )
        for order_id in session.scalars(
            select(Order.id)
            .where(Order.status == "reserved", Order.id.in_(several))
            .order_by(Order.id)
        ):
            trial = session.begin_nested()
            try:
                made = pick_lists.create_pick_list(session, [order_id], config.layout)
            except WarehouseError:
                trial.rollback()
                continue
            trial.commit()
            break
        else:
            pytest.fail("the demo has no pickable order of several items")
        picking.start_pick_list(session, made.id, picker)
        picking.set_tote(session, made.id, picker, 1, "T98001")
        units: list[str] = []
        for pick in list(made.picks):
            sku = pick.order_line.product.sku
            picking.confirm_pick(
                session, picker, made.id, pick.id, location=pick.stock.location.code,
                sku=sku, qty=pick.qty, tote="T98001",
            )  # fmt: skip
            units += [sku] * pick.qty
    engine.dispose()
    return order_id, units


def weight_kg(url: str, skus: list[str], box_g: int) -> str:
    """What a carton of these units in this box weighs, as the packer types it."""
    config: Config = load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": url})
    engine = make_engine(config.database)
    with make_sessionmaker(engine)() as session:
        weights = {
            sku: weight for sku, weight in session.execute(select(Product.sku, Product.weight_g))
        }
    engine.dispose()
    return f"{(sum(weights[sku] or 0 for sku in skus) + box_g) / 1000:.3f}"


def order_status(url: str, order_id: int) -> str:
    """The order's status in the books."""
    engine = make_engine(
        load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": url}).database
    )
    with engine.connect() as connection:
        status = connection.scalar(select(Order.status).where(Order.id == order_id))
    engine.dispose()
    return str(status)


def test_pack_print_load_at_the_dock_and_take_a_return(
    page: Page, pack_server: str, live_database: str, printer_port: int
) -> None:
    order, units = picked_order(live_database)
    stranger = next(f"SKU-{n:04d}" for n in range(1, 61) if f"SKU-{n:04d}" not in units)
    printer = FakePrinter(printer_port)
    try:
        sign_in(page, pack_server, "U000005", "5555", "packer")
        open_flow(page, pack_server + "/pack?station=pack1")
        scan_and_wait(page, f"O{order:08d}")
        expect(page.get_by_test_id("order")).to_have_text(str(order))
        expect_sound(page, "good")
        halves = [units[:1], units[1:]]
        for number, skus in enumerate(halves, start=1):
            with answered(page):
                page.get_by_role("button", name=re.compile("^Medium box")).click()
            expect(message(page)).to_have_text("Medium box opened: scan each item into it.")
            expect(page.locator("[data-prompt]")).to_have_text(
                f"Scan each item into carton {number}."
            )
            if number == 1:
                # An item the order does not want: refused with the bad sound.
                scan_and_wait(page, ean_of(stranger))
                expect_refused(page, "is not in order")
            for sku in skus:
                scan_and_wait(page, ean_of(sku))
                expect_sound(page, "good")
            page.get_by_label(re.compile(f"Weight of carton {number}")).fill(
                weight_kg(live_database, skus, 300)
            )
            with answered(page):
                page.get_by_role("button", name=f"Close carton {number}").click()
            expect(message(page)).to_contain_text(f"Carton {number} closed")
            expect_sound(page, "good")
        expect(page.get_by_test_id("order-packed")).to_contain_text("packed: 2 cartons")
        labels = printer.wait_for(2)
    finally:
        printer.close()
    assert len(labels) == 2
    ssccs = {re.search(rb">;>800(\d{18})", label)[1] for label in labels}  # type: ignore[index]
    assert len(ssccs) == 2 and all(label.count(b"^XA") == 1 for label in labels)
    page.reload()
    expect(page.get_by_test_id("label-job")).to_have_count(2)
    for job in page.get_by_test_id("label-job").all():
        expect(job).to_contain_text("sent")
    # At the dock: the slip, then each label as a scanner reads its GS1-128 (AIM ]C1, FNC1
    # as the identifier); the same label twice is refused; the last one ships the order.
    page.goto(pack_server + "/dock")
    scan_and_wait(page, f"O{order:08d}")
    expect(page.get_by_test_id("order")).to_have_text(str(order))
    first, second = (f"]C100{sscc.decode()}" for sscc in sorted(ssccs))
    scan_and_wait(page, first)
    expect(message(page)).to_contain_text("loaded")
    expect_sound(page, "good")
    scan_and_wait(page, first)
    expect_refused(page, "scanned already")
    scan_and_wait(page, second)
    expect(message(page)).to_contain_text(f"Order {order} has shipped")
    expect_sound(page, "good")
    assert order_status(live_database, order) == "shipped"
    # The customer sends one unit back: an item the order never shipped is refused, the
    # right one goes to quarantine (done, but not green: it waits for a check).
    page.goto(pack_server + "/returns")
    scan_and_wait(page, f"O{order:08d}")
    expect(page.get_by_test_id("order")).to_have_text(str(order))
    scan_and_wait(page, ean_of(stranger))
    expect_refused(page, "never shipped")
    scan_and_wait(page, ean_of(units[0]))
    expect(page.get_by_test_id("item")).to_contain_text(units[0])
    with answered(page):
        page.get_by_test_id("quarantine").click()
    expect(message(page)).to_contain_text(f"Returned 1 of {units[0]} to quarantine")
    expect_sound(page, "warn")
    returned = page.get_by_test_id("lines").get_by_role("row").filter(has_text=units[0])
    expect(returned.get_by_role("cell").nth(2)).to_have_text("1")
    assert "All stock invariants hold" in warehouse_command(live_database, "check")


def test_the_station_page_follows_its_scanner_and_scale(
    page: Page, pack_server: str, live_database: str
) -> None:
    order, units = picked_order(live_database)
    stranger = next(f"SKU-{n:04d}" for n in range(1, 61) if f"SKU-{n:04d}" not in units)
    token = warehouse_command(live_database, "token", "create", "paula").strip()
    agent = httpx.Client(base_url=pack_server, headers={"Authorization": f"Bearer {token}"})
    sign_in(page, pack_server, "U000005", "5555", "packer")
    open_flow(page, pack_server + "/pack?station=pack1")
    # The station's USB scanner (through the agent) puts the order on the bench: the page
    # that waits for a scan shows it by itself, with the scan's sound.
    answer = agent.post("/api/barcodes/resolve", json={"code": f"O{order:08d}", "station": "pack1"})
    assert answer.status_code == 200 and answer.json()["pack"]["step"] == "order"
    expect(page.get_by_test_id("order")).to_have_text(str(order))
    expect(message(page)).to_have_text(f"Order {order} is on the bench.")
    expect_sound(page, "good")
    with answered(page):
        page.get_by_role("button", name=re.compile("^Large box")).click()
    expect(message(page)).to_have_text("Large box opened: scan each item into it.")
    answer = agent.post(
        "/api/barcodes/resolve", json={"code": ean_of(units[0]), "station": "pack1"}
    )
    assert answer.status_code == 200
    expect(message(page)).to_contain_text(f"1 x {units[0]} packed into carton 1")
    expect_sound(page, "good")
    expect(
        page.get_by_test_id("lines").locator(f"tr[data-sku='{units[0]}'] [data-testid=packed]")
    ).not_to_have_text("0")
    answer = agent.post(
        "/api/barcodes/resolve", json={"code": ean_of(stranger), "station": "pack1"}
    )
    assert answer.status_code == 422
    expect_refused(page, "is not in order")
    # The scale's stable reading fills the weight field.
    assert agent.post("/api/stations/pack1/scale", json={"weight_g": 1234}).status_code == 200
    expect(page.get_by_label(re.compile("Weight of carton 1"))).to_have_value("1.234")

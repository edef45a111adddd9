"""Picking a batch of three orders on the handheld, by scans at scanner speed, with one
short pick, in Chromium at 360x640."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from scanners.gtin import with_check_digit
from tests.browser.conftest import (
    answered,
    expect_refused,
    expect_sound,
    message,
    scan,
    scan_and_wait,
    sign_in,
)
from tests.conftest import REPO, warehouse_command
from warehouse import pick_lists
from warehouse.config import load_config
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.errors import WarehouseError
from warehouse.models import Movement, Order, PickListOrder

TOTES = iter(f"T9{n:04d}" for n in range(1, 100))


def plan_batch_of_three(url: str) -> tuple[int, list[int]]:
    """A batch pick list for three demo orders whose units are all in pick bins."""
    config = load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": url})
    engine = make_engine(config.database)
    with writing(make_sessionmaker(engine)) as session:
        chosen: list[int] = []
        for order_id in session.scalars(
            select(Order.id).where(Order.status == "reserved").order_by(Order.id)
        ):
            trial = session.begin_nested()
            try:
                pick_lists.create_pick_list(session, [*chosen, order_id], config.layout)
                chosen.append(order_id)
            except WarehouseError:
                pass
            trial.rollback()
            if len(chosen) == 3:
                break
        assert len(chosen) == 3, "the demo has no three pickable orders"
        made = pick_lists.create_pick_list(session, chosen, config.layout).id
    engine.dispose()
    return made, chosen


def ean_of(sku: str) -> str:
    return with_check_digit(f"0614141{int(sku.split('-')[1]):05d}")


def test_pick_a_batch_of_three_with_a_short_pick(
    page: Page, live_server: str, live_database: str
) -> None:
    list_id, _ = plan_batch_of_three(live_database)
    sign_in(page, live_server, "U000004", "4444", "picker")
    page.goto(live_server + "/pick")
    with answered(page):
        page.get_by_test_id(f"pick-list-{list_id}").click()
    expect(message(page)).to_have_text(f"List {list_id} is yours.")
    panel = page.locator("[data-panel]")
    shorted = wrong_tried = elsewhere = False
    short_tote = ""
    for _ in range(200):
        heading = panel.locator("h1").inner_text()
        if heading == "List done":
            break
        if heading.startswith("Cart slot"):
            scan_and_wait(page, next(TOTES))
            expect_sound(page, "good")
            continue
        stop = page.get_by_test_id("stop").inner_text()
        sku = panel.locator(".item b").inner_text()
        take = int(page.get_by_test_id("take").inner_text())
        tote = page.get_by_test_id("tote").inner_text()
        if not wrong_tried:
            # A wrong bin is refused with the bad sound; nothing changes.
            scan_and_wait(page, "A05-08-3" if stop != "A05-08-3" else "A01-01-1")
            expect_refused(page, "Wrong bin")
            expect(page.get_by_test_id("stop")).to_have_text(stop)
            wrong_tried = True
        scan_and_wait(page, stop)
        expect_sound(page, "good")
        if not shorted:
            # The bin holds less than the books say: one unit found, the rest elsewhere.
            scan_and_wait(page, ean_of(sku))
            panel.get_by_text("Not enough here?").click()
            page.get_by_label(re.compile("Units found")).fill("1")
            with answered(page):
                page.get_by_role("button", name="Short pick").click()
            expect(message(page)).to_contain_text("Short pick noted")
            expect_sound(page, "warn")
            elsewhere = "from another bin" in message(page).inner_text()
            short_tote = tote
            shorted = True
            continue
        # One scan per unit, as fast as the picker takes them: sent in order, each counted.
        with answered(page, take):
            for _ in range(take):
                scan(page, ean_of(sku))
        expect(page.get_by_test_id("counted")).to_have_text(str(take))
        scan_and_wait(page, tote)
        expect(message(page)).to_contain_text(f"Picked {take}")
        expect_sound(page, "good")
        if message(page).inner_text().endswith("is done: take the cart to packing."):
            break
    # The picker sees the list done, with its figures.
    expect(panel.locator("h1")).to_have_text("List done")
    # The books agree: the ledger, the bins, the held units, the reservations.
    assert "hold" in warehouse_command(live_database, "check")
    engine = make_engine(
        load_config(REPO / "config.toml", {"WAREHOUSE_DATABASE_URL": live_database}).database
    )
    with engine.connect() as connection:
        statuses = dict(
            connection.execute(
                select(PickListOrder.tote, Order.status)
                .join(Order, Order.id == PickListOrder.order_id)
                .where(PickListOrder.pick_list_id == list_id)
            ).all()
        )
        into_totes = connection.scalar(
            select(func.sum(Movement.qty)).where(
                Movement.reference == f"pick list {list_id}", Movement.qty > 0
            )
        )
    engine.dispose()
    # The short order is packed only when the rest was found in another bin; otherwise it
    # waits for the units not found (and never ships short).
    short_status = statuses.pop(short_tote)
    assert short_status == "picking" if elsewhere else short_status in ("reserved", "partial")
    assert list(statuses.values()) == ["picking"] * 2
    shown = page.get_by_test_id("progress").inner_text()
    picked = int(re.search(r"(\d+) of", shown)[1])  # type: ignore[index]
    assert into_totes == picked
    # The supervisor sees the bin to count and the picker's figures (one wrong scan).
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/login"))
    sign_in(page, live_server, "U000002", "2222", "supervisor")
    page.goto(live_server + "/pick/supervise")
    expect(page.get_by_test_id("count-tasks")).to_contain_text("short pick")
    pete = page.get_by_test_id("pickers").locator("tr", has_text="pete")
    expect(pete).to_contain_text("%")
    accuracy = float(re.search(r"([\d.]+) %", pete.inner_text())[1])  # type: ignore[index]
    assert 0 < accuracy < 100

"""Units not for sale: in quarantine, or in any location marked not sellable, units are on hand
but no order holds them, no backorder is filled from them and no channel is offered them;
GET /api/stock/{sku} shows them apart. Moved where they may be sold, they fill backorders by
priority and each channel hears its own figure."""

from __future__ import annotations

import secrets
import string
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_packing import packed_order, picked, refused  # noqa: F401
from tests.api.test_picking import layout_bin, pick_list, place_order
from tests.api.test_returns import post_return, shipped  # noqa: F401
from tests.conftest import (
    ApiClient,
    Floor,
    make_channel,
    make_location,
    make_product,
    receive,
    said,
    stock_of,
    warehouse_command,
)
from warehouse import catalog, returns
from warehouse.config import Config
from warehouse.db import writing
from warehouse.invariants import check_invariants
from warehouse.models import Channel, ChannelEvent, ChannelFeed, Product


@pytest.fixture
def quarantined(api: ApiClient, config: Config) -> str:
    """The configured quarantine location, made (not for sale) if this database has none yet."""
    code = config.returns.quarantine
    assert api.put(f"/api/locations/{code}", {}).status_code in (200, 201)
    return code


@pytest.fixture
def sent(shipped: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """An order of 2 x a heavy item and 1 x a light one, shipped."""
    return shipped


def told(db: Session, sku: str) -> dict[str, list[tuple[int, int]]]:
    """The inventory.changed events of a SKU per channel code: (row id, figure), oldest first."""
    db.rollback()  # a new transaction sees what the requests committed
    rows = db.execute(
        select(Channel.code, ChannelEvent.id, ChannelEvent.data)
        .join(ChannelEvent.channel)
        .join(Product, Product.id == ChannelEvent.product_id)
        .where(Product.sku == sku, ChannelEvent.type == "inventory.changed")
        .order_by(ChannelEvent.id)
    ).all()
    events: dict[str, list[tuple[int, int]]] = {}
    for code, row, data in rows:
        assert data["sku"] == sku
        events.setdefault(code, []).append((row, data["available"]))
    return events


def feed(db: Session, sku: str) -> dict[str, int]:
    """The figure each channel was last told of a SKU."""
    db.rollback()
    return dict(
        db.execute(
            select(Channel.code, ChannelFeed.available)
            .join(Channel, Channel.id == ChannelFeed.channel_id)
            .join(Product, Product.id == ChannelFeed.product_id)
            .where(Product.sku == sku)
        ).all()
    )


def offered(api: ApiClient, channel: str, sku: str) -> int:
    """What GET /api/channels/{code}/inventory offers of a SKU."""
    items = api.get(f"/api/channels/{channel}/inventory").json["items"]
    return next(int(item["available"]) for item in items if item["sku"] == sku)


def figures(api: ApiClient, sku: str) -> tuple[int, int, int, int]:
    """(on hand, unsellable, reserved, available) of a SKU, checking available's sum."""
    stock = stock_of(api, sku)
    on_hand, apart, reserved = stock["on_hand"], stock["unsellable"], stock["reserved"]
    assert stock["available"] == on_hand - apart - reserved
    return on_hand, apart, reserved, stock["available"]


def status(api: ApiClient, order: int) -> str:
    return str(api.get(f"/api/orders/{order}").json["status"])


def held(api: ApiClient, order: int) -> list[int]:
    return [line["reserved"] for line in api.get(f"/api/orders/{order}").json["lines"]]


def move(api: ApiClient, sku: str, source: str, target: str, qty: int) -> None:
    done = api.post("/api/stock/moves", {"sku": sku, "from": source, "to": target, "qty": qty})
    assert done.status_code == 201, done.json


def count(api: ApiClient, sku: str, location: str, counted: int) -> None:
    done = api.post("/api/stock/counts", {"sku": sku, "location": location, "counted": counted})
    assert done.status_code == 201, done.json


def test_the_quarantine_location_is_not_for_sale(api: ApiClient, quarantined: str) -> None:
    assert api.get(f"/api/locations/{quarantined}").json["sellable"] is False
    assert api.put(f"/api/locations/{make_location(api)}", {}).json["sellable"] is True


def test_a_return_to_quarantine_is_on_hand_but_offered_to_no_one(
    api: ApiClient, sent: dict[str, Any], quarantined: str, db: Session
) -> None:
    light = sent["light"]
    # 4 left after the order shipped 1: an order on a new channel holds them and waits for 1.
    channel, shared = make_channel(api), make_channel(api, buffer=1, share=0.5)
    waiting = place_order(api, channel, {light: 5})
    assert (waiting["status"], held(api, waiting["id"])) == ("partial", [4])
    before = (told(db, light), feed(db, light), offered(api, shared, light))
    assert figures(api, light) == (4, 0, 4, 0)

    back = post_return(api, sent["order"], light, 1)
    assert back.status_code == 201 and back.json["location"] == quarantined, back.json

    assert figures(api, light) == (5, 1, 4, 0)
    assert {"location": quarantined, "on_hand": 1} in stock_of(api, light)["locations"]
    assert (status(api, waiting["id"]), held(api, waiting["id"])) == ("partial", [4])
    assert (told(db, light), feed(db, light), offered(api, shared, light)) == before
    assert check_invariants(db) == []


def test_units_out_of_quarantine_fill_backorders_by_priority_and_each_channel_hears(
    api: ApiClient, quarantined: str, db: Session
) -> None:
    sku = make_product(api)["sku"]
    last, first = make_channel(api, priority=200), make_channel(api, priority=10)
    shared = make_channel(api, buffer=1, share=0.5)
    older = place_order(api, last, {sku: 3})["id"]
    newer = place_order(api, first, {sku: 2})["id"]
    receive(api, sku, quarantined, 10)
    # Received into quarantine (damaged on arrival): on hand, but for no one.
    assert figures(api, sku) == (10, 10, 0, 0)
    assert (status(api, older), status(api, newer)) == ("backordered", "backordered")
    assert told(db, sku) == {} and feed(db, sku) == {}

    bin_ = make_location(api)
    move(api, sku, quarantined, bin_, 4)
    # The channel served first gets its 2, though its order came later.
    assert (held(api, newer), status(api, newer)) == ([2], "reserved")
    assert (held(api, older), status(api, older)) == ([2], "partial")
    assert figures(api, sku) == (10, 6, 4, 0)

    move(api, sku, quarantined, bin_, 6)
    assert status(api, older) == "reserved"
    assert figures(api, sku) == (10, 0, 5, 5)
    # Each channel's own figure: all 5 free units, or floor(5 * 0.5) - 1.
    expected = {last: 5, first: 5, shared: 1}
    events = told(db, sku)
    assert {code: events[code][-1][1] for code in expected} == expected
    assert {code: feed(db, sku)[code] for code in expected} == expected
    assert {code: offered(api, code, sku) for code in expected} == expected
    assert check_invariants(db) == []


def test_units_moved_into_quarantine_take_back_the_newest_reservation(
    api: ApiClient, quarantined: str, db: Session
) -> None:
    sku, bin_, channel = make_product(api)["sku"], make_location(api), make_channel(api)
    receive(api, sku, bin_, 5)
    older = place_order(api, channel, {sku: 2})["id"]
    newer = place_order(api, channel, {sku: 2})["id"]
    assert figures(api, sku) == (5, 0, 4, 1)
    assert told(db, sku)[channel][-1][1] == 1

    move(api, sku, bin_, quarantined, 3)
    assert figures(api, sku) == (5, 3, 2, 0)
    assert (status(api, older), status(api, newer)) == ("reserved", "backordered")
    assert told(db, sku)[channel][-1][1] == 0
    assert sorted(
        (line["location"], line["on_hand"]) for line in stock_of(api, sku)["locations"]
    ) == sorted([(bin_, 2), (quarantined, 3)])

    move(api, sku, quarantined, bin_, 1)
    assert (status(api, newer), held(api, newer)) == ("partial", [1])
    assert check_invariants(db) == []


def test_a_count_in_quarantine_changes_no_order_and_no_channel(
    api: ApiClient, quarantined: str, db: Session
) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    receive(api, sku, bin_, 4)
    order = place_order(api, make_channel(api), {sku: 6})["id"]
    receive(api, sku, quarantined, 3)
    before = (told(db, sku), feed(db, sku))
    assert figures(api, sku) == (7, 3, 4, 0)

    count(api, sku, quarantined, 5)
    assert figures(api, sku) == (9, 5, 4, 0)
    assert (status(api, order), held(api, order)) == ("partial", [4])
    count(api, sku, quarantined, 0)
    assert figures(api, sku) == (4, 0, 4, 0)
    assert (status(api, order), held(api, order)) == ("partial", [4])
    assert (told(db, sku), feed(db, sku)) == before
    # A count down in a bin for sale still takes reservations back.
    count(api, sku, bin_, 3)
    assert (figures(api, sku), held(api, order)) == ((3, 0, 3, 0), [3])
    assert check_invariants(db) == []


def test_a_bin_marked_not_for_sale_gives_up_its_units_and_gets_them_back(
    api: ApiClient, db: Session
) -> None:
    sku, channel = make_product(api)["sku"], make_channel(api)
    damaged, other = make_location(api), make_location(api)
    receive(api, sku, damaged, 6)
    receive(api, sku, other, 4)
    order = place_order(api, channel, {sku: 8})["id"]
    assert figures(api, sku) == (10, 0, 8, 2)

    marked = api.put(f"/api/locations/{damaged}", {"sellable": False})
    assert marked.status_code == 200 and marked.json["sellable"] is False, marked.json
    assert api.get(f"/api/locations/{damaged}").json["sellable"] is False
    assert figures(api, sku) == (10, 6, 4, 0)
    assert (status(api, order), held(api, order)) == ("partial", [4])
    assert told(db, sku)[channel][-1][1] == 0
    # Marked again as it is: nothing changes.
    assert api.put(f"/api/locations/{damaged}", {"sellable": False}).status_code == 200
    assert figures(api, sku) == (10, 6, 4, 0)

    again = api.put(f"/api/locations/{damaged}", {"sellable": True})
    assert again.status_code == 200 and again.json["sellable"] is True
    assert figures(api, sku) == (10, 0, 8, 2)
    assert (status(api, order), held(api, order)) == ("reserved", [8])
    assert told(db, sku)[channel][-1][1] == 2
    assert check_invariants(db) == []


def test_units_held_for_a_pick_list_keep_their_bin_for_sale(api: ApiClient, db: Session) -> None:
    sku = make_product(api)["sku"]
    bin_ = layout_bin(api)
    receive(api, sku, bin_, 3)
    order = place_order(api, make_channel(api), {sku: 3})["id"]
    made = pick_list(api, order)
    assert made.status_code == 201, made.json
    before = figures(api, sku)

    refused_ = api.put(f"/api/locations/{bin_}", {"sellable": False})
    assert refused_.status_code == 409, refused_.json
    assert refused_.json["error"]["code"] == "location_held"
    assert api.get(f"/api/locations/{bin_}").json["sellable"] is True
    assert figures(api, sku) == before
    assert check_invariants(db) == []


def test_pick_lists_and_pickers_leave_units_not_for_sale_alone(api: ApiClient, db: Session) -> None:
    sku = make_product(api)["sku"]
    # A pickable bin outside the layout, fuller than the bin for sale and holding all the
    # order wants: a pick list would go there first if it could (and fail: no route there).
    shelf, bin_ = make_location(api, sellable=False), layout_bin(api)
    assert api.get(f"/api/locations/{shelf}").json["pickable"] is True
    receive(api, sku, shelf, 5)
    receive(api, sku, bin_, 3)
    order = place_order(api, make_channel(api), {sku: 3})["id"]
    made = pick_list(api, order)
    assert made.status_code == 201, made.json
    assert [(pick["location"], pick["qty"]) for pick in made.json["picks"]] == [(bin_, 3)]

    picker = api.as_role("picker")
    moved = picker.post("/api/stock/moves", {"sku": sku, "from": shelf, "to": bin_, "qty": 1})
    assert moved.status_code == 403 and moved.json["error"]["code"] == "not_a_pick_bin"
    assert moved.json["error"]["field"] == "from"
    assert "not for sale" in moved.json["error"]["message"]
    assert figures(api, sku) == (8, 5, 3, 0)
    assert check_invariants(db) == []


def test_a_return_is_not_sent_to_a_quarantine_marked_for_sale(
    api: ApiClient, factory: sessionmaker[Session], config: Config, sent: dict[str, Any]
) -> None:
    pattern = config.warehouse.location_pattern
    # Made as the returns' quarantined, a place is not for sale; marked so, returns are refused.
    code = "QX" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(6)) + "-1"
    with writing(factory) as session:
        place, _ = catalog.put_location(session, code, pattern, quarantine=code)
        assert place.sellable is False
    open_quarantine = make_location(api)
    before = figures(api, sent["light"])

    def send_back(session: Session) -> object:
        return returns.return_item(
            session, None, sent["order"], sent["light"], 1, None, open_quarantine
        )

    assert refused(factory, send_back) == "quarantine_sellable"
    assert figures(api, sent["light"]) == before


def test_look_up_shows_units_not_for_sale_apart(
    api: ApiClient, receiver: Floor, quarantined: str
) -> None:
    product = make_product(api)
    sku, bin_ = product["sku"], make_location(api)
    receive(api, sku, bin_, 4)
    receive(api, sku, quarantined, 2)
    page = receiver.scan("lookup", product["barcodes"][0])
    assert page.status_code == 200, page.json
    assert said(page) == f"{sku}, {product['name']}: 6 on hand, 2 not for sale, 4 to sell."
    assert 'data-testid="unsellable">2<' in page.json["panel"]
    assert "not for sale" in page.json["panel"]
    place = receiver.scan("lookup", quarantined)
    assert said(place).startswith(f"Bin {quarantined} (not for sale):")
    assert 'data-testid="not-for-sale"' in place.json["panel"]


def test_warehouse_check_holds_with_units_not_for_sale(
    api: ApiClient, database_url: str, quarantined: str
) -> None:
    sku, bin_, channel = make_product(api)["sku"], make_location(api), make_channel(api)
    receive(api, sku, bin_, 5)
    receive(api, sku, quarantined, 2)
    place_order(api, channel, {sku: 6})
    move(api, sku, bin_, quarantined, 1)
    count(api, sku, quarantined, 4)
    api.put(f"/api/locations/{bin_}", {"sellable": False})
    api.put(f"/api/locations/{bin_}", {"sellable": True})
    move(api, sku, quarantined, bin_, 4)
    assert figures(api, sku) == (8, 0, 6, 2)
    assert "All stock invariants hold" in warehouse_command(database_url, "check")

"""The order list: filters, cursor paging that stays stable while orders change, an
integration token's own channels only, and an order's shipments as it lists them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from tests.api.test_pick_flow import confirm, put_totes, start
from tests.api.test_picking import layout_bin, place_order
from tests.api.test_short_picks import pack_and_ship
from tests.conftest import (
    ApiClient,
    make_channel,
    make_product,
    receive,
    ref,
    stocked_product,
)
from warehouse import accounts
from warehouse.config import Config
from warehouse.db import writing
from warehouse.models import Carton, Order


def listing(api: ApiClient, **params: Any) -> TestResponse:
    return api.get("/api/orders", query_string=params)


def listed(api: ApiClient, **params: Any) -> list[dict[str, Any]]:
    """Every order of the listing, page after page."""
    orders: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = listing(api, **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.json
        orders += answer.json["orders"]
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return orders


def ids(orders: list[dict[str, Any]]) -> list[int]:
    return [order["id"] for order in orders]


def refused(answer: TestResponse, field: str, code: str = "invalid_input") -> None:
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == code, answer.json
    assert answer.json["error"]["field"] == field, answer.json


def picked_up(api: ApiClient, order: int) -> None:
    """Pick the order into a tote of its own."""
    made = api.post("/api/pick-lists", {"orders": [order]}).json
    start(api, made["id"])
    totes = put_totes(api, made)
    for pick in made["picks"]:
        assert confirm(api, made["id"], pick, tote=totes[order]).status_code == 200


def shipped_off(
    api: ApiClient, factory: sessionmaker[Session], config: Config, order: int, sku: str, qty: int
) -> None:
    """Pick, pack and hand over an order of qty x sku (a product of 300 g)."""
    picked_up(api, order)
    pack_and_ship(factory, config, order, sku, qty)
    assert api.get(f"/api/orders/{order}").json["status"] == "shipped"


def heavy_stock(api: ApiClient, qty: int) -> str:
    """A product of 300 g with qty units in a bin of the layout."""
    sku = str(make_product(api, weight_g=300)["sku"])
    receive(api, sku, layout_bin(api), qty)
    return sku


def test_orders_are_listed_by_channel_and_status(api: ApiClient) -> None:
    mine, theirs = make_channel(api), make_channel(api)
    sku = stocked_product(api, 20)
    first, second, third = (place_order(api, mine, {sku: 1})["id"] for _ in range(3))
    elsewhere = place_order(api, theirs, {sku: 1})["id"]
    assert api.post(f"/api/orders/{second}/cancel").status_code == 200

    every = listed(api, channel=mine)
    assert ids(every) == [first, second, third]
    # Each as GET /api/orders/{id} shows it.
    for order in every:
        assert order == api.get(f"/api/orders/{order['id']}").json
    assert ids(listed(api, channel=theirs)) == [elsewhere]
    assert ids(listed(api, channel=mine, status="cancelled")) == [second]
    assert ids(listed(api, channel=mine, status="reserved")) == [first, third]
    assert ids(listed(api, channel=mine, status="reserved,cancelled")) == [first, second, third]
    assert ids(listed(api, channel=mine, status=["cancelled", "reserved"])) == [
        first, second, third,
    ]  # fmt: skip
    assert listed(api, channel=mine, status="shipped") == []
    # Blank parameters, as a filled-in template sends them, are left out.
    assert ids(listed(api, channel=mine, status="", updated_since="", cursor="")) == [
        first, second, third,
    ]  # fmt: skip
    # Without a channel: every channel's, in id order.
    cancelled = ids(listed(api, status="cancelled", limit=500))
    assert second in cancelled and first not in cancelled and cancelled == sorted(cancelled)

    refused(listing(api, channel=mine, status="lost"), "status")
    refused(listing(api, channel=mine, status="reserved,lost"), "status")
    unknown = listing(api, channel="no-such-channel")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "unknown_channel"
    refused(listing(api, channel="x" * 33), "channel")


def test_paging_sees_every_order_once_while_orders_change(
    api: ApiClient, factory: sessionmaker[Session], config: Config
) -> None:
    channel = make_channel(api)
    sku = heavy_stock(api, 30)
    before = [place_order(api, channel, {sku: 1})["id"] for _ in range(7)]
    seen: list[dict[str, Any]] = []

    first = listing(api, channel=channel, limit=3).json
    seen += first["orders"]
    assert ids(first["orders"]) == before[:3]
    # Between pages: two new orders, one seen and one not yet seen cancelled, one shipped.
    taken = [place_order(api, channel, {sku: 1})["id"] for _ in range(2)]
    assert api.post(f"/api/orders/{before[1]}/cancel").status_code == 200
    assert api.post(f"/api/orders/{before[4]}/cancel").status_code == 200
    shipped_off(api, factory, config, before[5], sku, 1)

    second = listing(api, channel=channel, limit=3, cursor=first["next_cursor"]).json
    seen += second["orders"]
    taken.append(place_order(api, channel, {sku: 1})["id"])
    assert api.post(f"/api/orders/{before[3]}/cancel").status_code == 200
    cursor = second["next_cursor"]
    while cursor is not None:
        page = listing(api, channel=channel, limit=3, cursor=cursor).json
        assert len(page["orders"]) <= 3
        seen += page["orders"]
        cursor = page["next_cursor"]

    assert ids(seen) == before + taken
    status = {order["id"]: order["status"] for order in seen}
    # Each as it was when its page was read: changes after it are for the next listing.
    assert status[before[1]] == "reserved"
    assert (status[before[3]], status[before[4]], status[before[5]]) == (
        "reserved", "cancelled", "shipped",
    )  # fmt: skip
    assert ids(listed(api, channel=channel, status="cancelled")) == [
        before[1], before[3], before[4],
    ]  # fmt: skip


def test_updated_since_picks_up_a_changed_order(api: ApiClient) -> None:
    channel = make_channel(api)
    sku = stocked_product(api, 5)
    changed, left = (place_order(api, channel, {sku: 1})["id"] for _ in range(2))
    was = {order["id"]: order["updated_at"] for order in listed(api, channel=channel)}
    assert api.post(f"/api/orders/{changed}/cancel").status_code == 200
    now = api.get(f"/api/orders/{changed}").json["updated_at"]
    assert datetime.fromisoformat(now) > datetime.fromisoformat(was[changed])

    assert ids(listed(api, channel=channel, updated_since=now)) == [changed]
    # The same instant at another offset.
    elsewhere = datetime.fromisoformat(now).astimezone(timezone(timedelta(hours=2)))
    assert ids(listed(api, channel=channel, updated_since=elsewhere.isoformat())) == [changed]
    assert ids(listed(api, channel=channel, updated_since=was[left])) == [changed, left]
    later = (datetime.fromisoformat(now) + timedelta(seconds=1)).isoformat()
    assert listed(api, channel=channel, updated_since=later) == []

    for bad in ("1999-12-31T23:00:00Z", "2100-01-01T00:00:00Z", "2025-03-01T08:00:00",
                "yesterday", "9999-12-31T23:59:59-23:59"):  # fmt: skip
        refused(listing(api, channel=channel, updated_since=bad), "updated_since")


def test_a_cursor_is_refused_when_malformed_or_used_with_other_filters(api: ApiClient) -> None:
    channel, other = make_channel(api), make_channel(api)
    sku = stocked_product(api, 5)
    orders = [place_order(api, channel, {sku: 1})["id"] for _ in range(3)]
    page = listing(api, channel=channel, limit=1).json
    cursor = page["next_cursor"]
    assert ids(page["orders"]) == orders[:1] and isinstance(cursor, str)

    for filters in (
        {"channel": other},
        {},
        {"channel": channel, "status": "reserved"},
        {"channel": channel, "updated_since": "2020-01-01T00:00:00Z"},
    ):
        refused(listing(api, **filters, cursor=cursor), "cursor", "bad_cursor")
    # The limit may change from page to page.
    rest = listing(api, channel=channel, limit=5, cursor=cursor)
    assert rest.status_code == 200 and ids(rest.json["orders"]) == orders[1:]
    assert rest.json["next_cursor"] is None

    events = api.get(f"/api/channels/{channel}/events").json["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in ("x", "!!!!", "b3JkZXJzOjE6Mjo", flipped, cursor + "AAAA", events, "A" * 201,
                "ö" * 8):  # fmt: skip
        refused(listing(api, channel=channel, cursor=bad), "cursor", "bad_cursor")


@pytest.mark.parametrize("limit", ["0", "501", "-3", str(10**30), "ten", "1.5", "1e2"])
def test_an_order_page_holds_1_to_500_orders(api: ApiClient, limit: str) -> None:
    refused(listing(api, limit=limit), "limit")


def test_an_order_page_holds_as_many_orders_as_asked(api: ApiClient) -> None:
    channel = make_channel(api)
    sku = stocked_product(api, 5)
    orders = [place_order(api, channel, {sku: 1})["id"] for _ in range(3)]
    assert ids(listing(api, channel=channel, limit=1).json["orders"]) == orders[:1]
    assert ids(listing(api, channel=channel, limit=500).json["orders"]) == orders
    assert ids(listing(api, channel=channel).json["orders"]) == orders


@pytest.fixture
def integration_user(factory: sessionmaker[Session], config: Config) -> str:
    """A new integration user, with no token yet."""
    with writing(factory) as session:
        return accounts.add_user(session, ref("bot"), "integration", config.auth).user.name


def test_a_token_bound_to_a_channel_lists_only_its_orders(
    api: ApiClient, factory: sessionmaker[Session], integration_user: str
) -> None:
    mine, theirs = make_channel(api), make_channel(api)
    sku = stocked_product(api, 10)
    own = [place_order(api, mine, {sku: 1})["id"] for _ in range(2)]
    other = place_order(api, theirs, {sku: 1})["id"]
    with writing(factory) as session:
        bound = accounts.create_token(session, integration_user, [mine])
        unbound = accounts.create_token(session, integration_user)

    def as_token(token: str) -> ApiClient:
        return ApiClient(api.client, {"integration": token}, "integration")

    seen = listed(as_token(bound), limit=500)
    assert {order["channel"] for order in seen} == {mine}
    assert ids(seen) == own
    assert ids(listed(as_token(bound), channel=mine)) == own
    hidden = listing(as_token(bound), channel=theirs)
    assert hidden.status_code == 404 and hidden.json["error"]["code"] == "unknown_channel"
    assert ids(listed(as_token(unbound), channel=theirs)) == [other]
    # Its pages follow on by cursor as anyone's do.
    page = listing(as_token(bound), limit=1).json
    rest = listing(as_token(bound), limit=1, cursor=page["next_cursor"]).json
    assert ids(page["orders"] + rest["orders"]) == own


def test_a_shipped_order_lists_its_shipments_and_what_each_line_did(
    api: ApiClient, factory: sessionmaker[Session], config: Config, db: Session
) -> None:
    channel = make_channel(api)
    sku = heavy_stock(api, 3)
    shipped = place_order(api, channel, {sku: 2})["id"]
    cancelled = place_order(api, channel, {sku: 1})["id"]
    waiting = place_order(api, channel, {sku: 4})["id"]
    assert api.post(f"/api/orders/{cancelled}/cancel").status_code == 200
    shipped_off(api, factory, config, shipped, sku, 2)

    orders = {order["id"]: order for order in listed(api, channel=channel)}
    assert list(orders) == [shipped, cancelled, waiting]
    (line,) = orders[shipped]["lines"]
    assert (line["qty"], line["shipped"], line["reserved"], line["backordered"]) == (2, 2, 0, 0)
    assert line["cancelled"] == 0
    (shipment,) = orders[shipped]["shipments"]
    assert shipment["status"] == "shipped"
    assert datetime.fromisoformat(shipment["shipped_at"]) >= datetime.fromisoformat(
        orders[shipped]["created_at"]
    )
    db.rollback()
    cartons = db.scalars(select(Carton).where(Carton.order_id == shipped).order_by(Carton.number))
    expected = [
        {"number": c.number, "sscc": c.sscc, "carrier": c.carrier, "service": c.service,
         "tracking": c.tracking, "weight_g": c.weight_g}
        for c in cartons
    ]  # fmt: skip
    assert shipment["cartons"] == expected
    (carton,) = shipment["cartons"]
    assert carton["sscc"] and carton["tracking"] and carton["weight_g"] == 750
    assert {"carrier", "service"} <= set(carton)

    (line,) = orders[cancelled]["lines"]
    assert (line["cancelled"], line["reserved"], line["shipped"]) == (1, 0, 0)
    assert orders[cancelled]["shipments"] == []
    # Of the 3 units, 2 shipped; the one the cancel freed went to the order of 4.
    (line,) = orders[waiting]["lines"]
    assert (line["reserved"], line["backordered"], line["cancelled"]) == (1, 3, 0)
    assert orders[waiting]["status"] == "partial"


@contextmanager
def statements(app: Flask) -> Iterator[Callable[[], int]]:
    """Counts the SQL statements the app's requests run meanwhile."""
    engine: Engine = app.extensions["warehouse.engine"]
    count = 0

    def counted(*_args: Any) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        yield lambda: count
    finally:
        event.remove(engine, "before_cursor_execute", counted)


def test_a_page_takes_as_many_statements_whatever_its_size(
    api: ApiClient, app: Flask, factory: sessionmaker[Session], config: Config, db: Session
) -> None:
    channel = make_channel(api)
    skus = [heavy_stock(api, 4) for _ in range(3)]
    first = place_order(api, channel, {skus[0]: 1})["id"]
    shipped_off(api, factory, config, first, skus[0], 1)
    second = place_order(api, channel, {skus[1]: 2})["id"]
    shipped_off(api, factory, config, second, skus[1], 2)
    for sku in skus:
        place_order(api, channel, {sku: 1})
    cancelled = place_order(api, channel, {skus[2]: 1})["id"]
    assert api.post(f"/api/orders/{cancelled}/cancel").status_code == 200
    db.rollback()
    assert len(db.scalars(select(Order).where(Order.channel.has(code=channel))).all()) == 6

    with statements(app) as small:
        assert len(listing(api, channel=channel, limit=1).json["orders"]) == 1
    with statements(app) as whole:
        assert len(listing(api, channel=channel, limit=6).json["orders"]) == 6
    assert whole() == small()

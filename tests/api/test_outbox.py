"""The outbox: each change a channel must hear of is an event written with the change, and
nothing else is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import (
    ApiClient,
    make_channel,
    make_location,
    order_body,
    receive,
    stocked_product,
)
from warehouse import outbox
from warehouse.db import writing
from warehouse.models import Channel, ChannelEvent, EventStatus, Product


def events_of(factory: sessionmaker[Session], code: str, **where: Any) -> list[ChannelEvent]:
    with factory() as session:
        channel = session.scalars(select(Channel).where(Channel.code == code)).one()
        query = select(ChannelEvent).where(ChannelEvent.channel_id == channel.id)
        for name, value in where.items():
            query = query.where(getattr(ChannelEvent, name) == value)
        return list(session.scalars(query.order_by(ChannelEvent.id)))


def order_events(factory: sessionmaker[Session], code: str, order: int) -> list[str]:
    return [row.type for row in events_of(factory, code, order_id=order)]


def stock_events(factory: sessionmaker[Session], code: str, sku: str) -> list[dict[str, Any]]:
    with factory() as session:
        product = session.scalars(select(Product).where(Product.sku == sku)).one()
    return [row.data for row in events_of(factory, code, product_id=product.id)]


def test_an_order_is_told_as_accepted_then_filled_then_cancelled(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    code = make_channel(api)
    sku = stocked_product(api, 1)
    order = api.post(f"/api/channels/{code}/orders", order_body({sku: 3})).json
    assert order["status"] == "partial"
    (accepted,) = events_of(factory, code, order_id=order["id"])
    assert accepted.type == "order.accepted" and accepted.data == order
    assert accepted.event_id.startswith("evt_") and accepted.status == EventStatus.PULL

    receive(api, sku, make_location(api), 2)
    assert order_events(factory, code, order["id"]) == ["order.accepted", "order.filled"]
    filled = events_of(factory, code, order_id=order["id"])[-1].data
    assert filled["status"] == "reserved" and filled["lines"][0]["backordered"] == 0

    # The same order delivered again changes nothing: nothing is told.
    again = api.post(f"/api/channels/{code}/orders", order_body({sku: 3}, order["external_id"]))
    assert again.status_code == 200
    cancelled = api.post(f"/api/orders/{order['id']}/cancel").json
    assert order_events(factory, code, order["id"]) == [
        "order.accepted",
        "order.filled",
        "order.cancelled",
    ]
    told = events_of(factory, code, order_id=order["id"])[-1].data
    assert told == cancelled and told["lines"][0]["cancelled"] == 3
    # Cancelled twice is told once.
    api.post(f"/api/orders/{order['id']}/cancel")
    assert len(order_events(factory, code, order["id"])) == 3


def test_a_backorder_taken_back_is_told(api: ApiClient, factory: sessionmaker[Session]) -> None:
    code = make_channel(api)
    sku, place = stocked_product(api, 0), make_location(api)
    receive(api, sku, place, 2)
    order = api.post(f"/api/channels/{code}/orders", order_body({sku: 2})).json
    assert order["status"] == "reserved"
    # A count that finds one unit fewer takes one back from the order.
    counted = api.post("/api/stock/counts", {"sku": sku, "location": place, "counted": 1})
    assert counted.status_code == 201, counted.json
    assert order_events(factory, code, order["id"]) == ["order.accepted", "order.backordered"]
    assert events_of(factory, code, order_id=order["id"])[-1].data["status"] == "partial"


def test_stock_changes_are_told_per_channel_with_its_buffer_and_share(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    whole = make_channel(api)
    half = make_channel(api, share=0.5, buffer=1)
    sku = stocked_product(api, 0)
    receive(api, sku, make_location(api), 9)
    assert stock_events(factory, whole, sku) == [{"sku": sku, "available": 9}]
    # floor(9 * 0.5) - 1
    assert stock_events(factory, half, sku) == [{"sku": sku, "available": 3}]
    feed = api.get(f"/api/channels/{half}/inventory").json["items"]
    assert {"sku": sku, "available": 3} in feed


def test_a_burst_of_changes_to_one_sku_leaves_one_event_with_the_latest_figure(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    code = make_channel(api)
    sku, place = stocked_product(api, 0), make_location(api)
    for qty in (1, 2, 3, 4):
        receive(api, sku, place, qty)
    assert stock_events(factory, code, sku) == [{"sku": sku, "available": 10}]
    # Once read (given a position and delivered), the next figure is an event of its own.
    with writing(factory) as session:
        outbox.sequence(session)
        session.execute(
            ChannelEvent.__table__.update()
            .where(ChannelEvent.status == EventStatus.PULL)
            .values(status=EventStatus.DELIVERED)
        )
    receive(api, sku, place, 5)
    assert stock_events(factory, code, sku) == [
        {"sku": sku, "available": 10},
        {"sku": sku, "available": 15},
    ]


def test_a_change_that_moves_no_figure_tells_nothing(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    code = make_channel(api, buffer=100)
    sku = stocked_product(api, 5)
    # With a buffer of 100 the channel may sell none, before and after: nothing to tell.
    receive(api, sku, make_location(api), 5)
    assert stock_events(factory, code, sku) == [{"sku": sku, "available": 0}]


def test_a_refused_change_leaves_no_event(api: ApiClient, factory: sessionmaker[Session]) -> None:
    code = make_channel(api)
    sku = stocked_product(api, 2)
    before = len(events_of(factory, code))
    refused = api.post(
        f"/api/channels/{code}/orders",
        {**order_body({sku: 1}), "lines": [{"sku": sku, "qty": 1}, {"sku": "NOPE", "qty": 1}]},
    )
    assert refused.status_code == 422
    assert len(events_of(factory, code)) == before


def test_positions_follow_commit_order_and_are_given_once(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    code = make_channel(api)
    for _ in range(3):
        api.post(f"/api/channels/{code}/orders", order_body({stocked_product(api, 1): 1}))
    placed = []
    while not placed or placed[-1]:
        with writing(factory) as session:
            placed.append(outbox.sequence(session))
    # Given once: the last pass found none left.
    assert sum(placed) >= 3 and placed[-1] == 0
    rows = events_of(factory, code)
    seqs = [row.seq for row in rows]
    assert None not in seqs and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_reading_an_order_tells_nothing(api: ApiClient, factory: sessionmaker[Session]) -> None:
    code = make_channel(api)
    order = api.post(f"/api/channels/{code}/orders", order_body({stocked_product(api, 1): 1})).json
    api.get(f"/api/orders/{order['id']}")
    assert order_events(factory, code, order["id"]) == ["order.accepted"]


def test_a_new_share_tells_each_figure_that_moved(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    code = make_channel(api)
    moved, still = stocked_product(api, 10), stocked_product(api, 0)
    assert stock_events(factory, code, moved) == [{"sku": moved, "available": 10}]
    answer = api.put(f"/api/channels/{code}", {"name": "Halved", "share": 0.5})
    assert answer.status_code == 200, answer.json
    assert stock_events(factory, code, moved)[-1] == {"sku": moved, "available": 5}
    # Never told before, its figure is told once; another share leaves it at 0: no more.
    assert stock_events(factory, code, still) == [{"sku": still, "available": 0}]
    api.put(f"/api/channels/{code}", {"name": "Third", "share": 0.3})
    assert stock_events(factory, code, still) == [{"sku": still, "available": 0}]
    assert stock_events(factory, code, moved)[-1] == {"sku": moved, "available": 3}


def test_warehouse_check_finds_a_change_no_event_told(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    from warehouse.invariants import check_invariants
    from warehouse.models import ChannelFeed, Order

    code = make_channel(api)
    sku = stocked_product(api, 4)
    order = api.post(f"/api/channels/{code}/orders", order_body({sku: 1})).json
    with factory() as session:
        assert not [p for p in check_invariants(session) if code in p]
    # As if a change had been written around the outbox.
    with writing(factory) as session:
        session.execute(
            Order.__table__.update().where(Order.id == order["id"]).values(status="cancelled")
        )
        session.execute(ChannelFeed.__table__.update().values(available=ChannelFeed.available + 1))
    with factory() as session:
        found = [p for p in check_invariants(session) if code in p]
    assert f"order {order['id']} of {code} is cancelled" in found[0]
    assert any(f"{code} may sell 3 of {sku} but was last told 4" == p for p in found)
    with writing(factory) as session:
        session.execute(
            Order.__table__.update().where(Order.id == order["id"]).values(status="reserved")
        )
        session.execute(ChannelFeed.__table__.update().values(available=ChannelFeed.available - 1))

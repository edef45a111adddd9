"""A scripted day on three channels, told back to each: a receiver on 127.0.0.1 checks every
delivery's signature with the Standard Webhooks library a channel would use, and ends the
day with exactly the order events expected, in order per order, carrying the tracking
numbers the dock scanned; each channel's last stock figures are its feed; and pulling by
cursor gives the very events that were pushed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_pick_flow import put_totes, start
from tests.api.test_picking import layout_bin
from tests.conftest import ApiClient, make_product, order_body, receive, ref, service_app
from tests.receiver import Receiver
from warehouse import accounts, delivery, labelling, migrate, orders, packing, shipping
from warehouse.config import Config, DatabaseConfig, PrinterConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.invariants import check_invariants
from warehouse.models import Carton

ITEM_G = 300


@pytest.fixture
def day(tmp_path: Path) -> Iterator[tuple[ApiClient, sessionmaker[Session], Config]]:
    """A warehouse of its own (no other test's channels to tell), with an admin's token."""
    config = Config(
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'day.sqlite3'}"),
        printers={"hand": PrinterConfig(kind="browser")},
    )
    engine: Engine = make_engine(config.database)
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    tokens = {}
    with writing(factory) as session:
        for role in ("admin", "picker"):
            accounts.add_user(session, role, role, config.auth)
            tokens[role] = accounts.create_token(session, role)
    app: Flask = service_app(config)
    try:
        yield ApiClient(app.test_client(), tokens), factory, config
    finally:
        engine.dispose()


def channel(api: ApiClient, receiver: Receiver, **settings: Any) -> str:
    code = ref("ch").lower()
    made = api.put(f"/api/channels/{code}", {"name": code, **settings})
    assert made.status_code == 201, made.json
    url = receiver.expect(code, made.json["webhook_secret"])
    pointed = api.put(f"/api/channels/{code}", {"name": code, **settings, "events_url": url})
    assert pointed.status_code == 200, pointed.json
    return code


def post(api: ApiClient, path: str, body: Any = None) -> Any:
    answer = api.post(path, body)
    assert answer.status_code in (200, 201), (path, answer.json)
    return answer.json


def pick(api: ApiClient, order: int, found: dict[str, int] | None = None) -> None:
    """A pick list for the order, walked: each pick confirmed, or short with `found` units."""
    made = post(api, "/api/pick-lists", {"orders": [order]})
    start(api, made["id"])
    tote, picker = put_totes(api, made)[order], api.as_role("picker")
    for line in made["picks"]:
        base = f"/api/pick-lists/{made['id']}/picks/{line['id']}"
        if found is not None and line["sku"] in found:
            post(picker, f"{base}/short", {"found": found[line["sku"]], "tote": tote})
        else:
            post(picker, f"{base}/confirm", {"location": line["location"], "sku": line["sku"],
                                          "qty": line["qty"], "tote": tote})  # fmt: skip


def pack_and_load(factory: sessionmaker[Session], config: Config, order: int) -> list[str]:
    """Pack what the order's totes hold into one carton, label it, and load it at the dock by
    scanning its tracking number; returns the tracking numbers scanned."""
    with writing(factory) as session:
        lines = [
            (line.product.sku, line.reserved) for line in orders.get_order(session, order).lines
        ]
        carton = packing.open_carton(session, order, "small", config.boxes).id
        units = 0
        for sku, reserved in lines:
            if reserved:
                packing.pack_item(session, carton, sku, reserved)
                units += reserved
        packing.close_carton(session, carton, 150 + ITEM_G * units, config.boxes, config.packing)
        labelling.finish_packing(session, order, config, "hand")
    with factory() as session:
        tracking = session.scalars(select(Carton.tracking).where(Carton.id == carton)).one()
    assert tracking
    with writing(factory) as session:
        shipping.load_carton(session, None, order, tracking)
    return [tracking]


def deliver_all(factory: sessionmaker[Session], config: Config) -> None:
    """Run the dispatcher until nothing is left to send."""
    for _ in range(200):
        if delivery.dispatch(factory, config.events) == 0:
            return
    raise AssertionError("the dispatcher never ran out of events to send")


def told(receiver: Receiver, code: str) -> dict[int, list[dict[str, Any]]]:
    """Each order's events as the channel acknowledged them, first arrivals only."""
    seen: set[str] = set()
    per_order: dict[int, list[dict[str, Any]]] = {}
    for arrival in receiver.acknowledged(code):
        event = arrival.event
        if event["id"] in seen or event["type"] == "inventory.changed":
            continue
        seen.add(event["id"])
        order = event["data"].get("order_id", event["data"].get("id"))
        per_order.setdefault(order, []).append(event)
    return per_order


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def test_a_day_on_three_channels_is_told_to_each_exactly(
    day: tuple[ApiClient, sessionmaker[Session], Config],
) -> None:
    api, factory, config = day
    with Receiver() as receiver:
        web = channel(api, receiver)
        market = channel(api, receiver, ship_partial=True, share=0.5)
        shop = channel(api, receiver, buffer=2)
        mug, lamp, rug = (make_product(api, weight_g=ITEM_G)["sku"] for _ in range(3))
        receive(api, mug, layout_bin(api, 1, 2), 10)
        receive(api, lamp, layout_bin(api, 2, 3), 3)  # the books say 3; the bin holds 1
        assert api.put(f"/api/locations/{config.returns.quarantine}", {}).status_code == 201

        # Morning: orders on every channel.
        w1 = post(api, f"/api/channels/{web}/orders", order_body({mug: 2}))["id"]
        m1 = post(api, f"/api/channels/{market}/orders", order_body({mug: 1, lamp: 3}))["id"]
        s1 = post(api, f"/api/channels/{shop}/orders", order_body({rug: 1}))["id"]
        # The web order is picked, packed and loaded; the market order is picked short.
        pick(api, w1)
        w1_tracking = pack_and_load(factory, config, w1)
        pick(api, m1, found={lamp: 1})
        m1_tracking = pack_and_load(factory, config, m1)  # what was found ships
        # The shop's customer cancels; the web customer sends one mug back.
        post(api, f"/api/orders/{s1}/cancel")
        post(api, "/api/returns", {"order_id": w1, "sku": mug, "qty": 1, "reason": "chipped"})
        # Afternoon: lamps arrive and fill the market order's backorder.
        receive(api, lamp, layout_bin(api, 4, 5), 6)
        deliver_all(factory, config)

        assert receiver.forged == []
        # Exactly the order events expected, in order per order.
        assert {o: types(e) for o, e in told(receiver, web).items()} == {
            w1: ["order.accepted", "order.shipped", "order.returned"],
        }
        assert {o: types(e) for o, e in told(receiver, market).items()} == {
            m1: ["order.accepted", "order.backordered", "order.partially_shipped", "order.filled"],
        }
        assert {o: types(e) for o, e in told(receiver, shop).items()} == {
            s1: ["order.accepted", "order.cancelled"],
        }
        # Shipments carry the tracking numbers the dock scanned, and the carrier.
        shipped = told(receiver, web)[w1][1]["data"]
        cartons = [c for s in shipped["shipments"] for c in s["cartons"]]
        assert [c["tracking"] for c in cartons] == w1_tracking
        assert all(c["carrier"] and c["sscc"] for c in cartons)
        partly = told(receiver, market)[m1][2]["data"]
        assert [c["tracking"] for s in partly["shipments"] for c in s["cartons"]] == m1_tracking
        lines = {line["sku"]: line for line in partly["lines"]}
        assert (lines[lamp]["shipped"], lines[lamp]["backordered"]) == (1, 2)
        filled = told(receiver, market)[m1][3]["data"]
        assert {line["sku"]: line["backordered"] for line in filled["lines"]} == {mug: 0, lamp: 0}
        returned = told(receiver, web)[w1][2]["data"]
        assert returned == {"order_id": w1, "external_id": returned["external_id"], "sku": mug,
                            "qty": 1, "reason": "chipped"}  # fmt: skip
        assert told(receiver, shop)[s1][1]["data"]["lines"][0]["cancelled"] == 1

        # Each channel's latest stock figures are what its feed says now.
        for code in (web, market, shop):
            latest: dict[str, int] = {}
            for arrival in receiver.acknowledged(code):
                if arrival.event["type"] == "inventory.changed":
                    latest[arrival.event["data"]["sku"]] = arrival.event["data"]["available"]
            feed = {
                item["sku"]: item["available"]
                for item in api.get(f"/api/channels/{code}/inventory").json["items"]
            }
            assert latest == {sku: feed[sku] for sku in latest}, code
            assert {mug, lamp} <= set(latest)

        # Pulling by cursor gives the very events that were pushed, in the same order.
        for code in (web, market, shop):
            pulled, cursor = [], None
            while True:
                page = api.get(
                    f"/api/channels/{code}/events?limit=7" + (f"&after={cursor}" if cursor else "")
                ).json
                pulled += page["events"]
                if not page["events"]:
                    break
                cursor = page["next_cursor"]
            # In order of first arrival, once each (a retried event keeps its place).
            pushed = list({a.event_id: a.event for a in receiver.acknowledged(code)}.values())
            assert sorted(e["id"] for e in pulled) == sorted({e["id"] for e in pushed})
            assert [e for e in pulled if e["type"] != "inventory.changed"] == [
                e for e in pushed if e["type"] != "inventory.changed"
            ]
        with factory() as session:
            assert check_invariants(session) == []

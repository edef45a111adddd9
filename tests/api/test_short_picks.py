"""A unit not found never ships silently: the order waits for it, or on a channel that ships
partly, ships what was found and sends the rest later as a shipment of its own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_packing import refused
from tests.api.test_pick_flow import confirm, put_totes, start
from tests.api.test_picking import layout_bin, place_order
from tests.conftest import ApiClient, make_channel, make_product, receive, stock_of
from warehouse import labelling, packing, shipping
from warehouse.config import Config, PrinterConfig
from warehouse.db import make_sessionmaker, writing
from warehouse.invariants import check_invariants


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


def line_of(api: ApiClient, order: int) -> dict[str, Any]:
    (line,) = api.get(f"/api/orders/{order}").json["lines"]
    return line  # type: ignore[no-any-return]


def assert_line(api: ApiClient, order: int, **expected: int) -> None:
    line = line_of(api, order)
    assert {key: line[key] for key in expected} == expected, line


def short_at_first_bin(api: ApiClient, channel: str, found: int) -> dict[str, Any]:
    """An order of 3 units whose one bin holds 1 of them (the books say 3): picked short."""
    sku = make_product(api, weight_g=300)["sku"]
    first = layout_bin(api, 2, 3)
    receive(api, sku, first, 3)
    order = place_order(api, channel, {sku: 3})["id"]
    made = api.post("/api/pick-lists", {"orders": [order]}).json
    start(api, made["id"])
    totes = put_totes(api, made)
    (pick,) = made["picks"]
    shorted = api.as_role("picker").post(
        f"/api/pick-lists/{made['id']}/picks/{pick['id']}/short",
        {"found": found, "tote": totes[order]},
    )
    assert shorted.status_code == 200, shorted.json
    assert shorted.json["status"] == "done"
    return {"order": order, "sku": sku, "bin": first, "tote": totes[order]}


def pick_the_rest(api: ApiClient, order: int, tote: str) -> dict[str, Any]:
    """A new list for what the order still needs, into the tote that holds the rest."""
    made = api.post("/api/pick-lists", {"orders": [order]})
    assert made.status_code == 201, made.json
    start(api, made.json["id"])
    slot = made.json["orders"][0]["slot"]
    put = api.as_role("picker").put(
        f"/api/pick-lists/{made.json['id']}/totes/{slot}", {"tote": tote}
    )
    assert put.status_code == 200, put.json
    for pick in made.json["picks"]:
        assert confirm(api, made.json["id"], pick, tote=tote).status_code == 200
    return made.json  # type: ignore[no-any-return]


def pack_and_ship(
    sessions: sessionmaker[Session], config: Config, order: int, sku: str, units: int
) -> None:
    """Pack the units into one carton, label it for a handheld, and hand it over."""
    config = config.model_copy(update={"printers": {"hand": PrinterConfig(kind="browser")}})
    with writing(sessions) as session:
        carton = packing.open_carton(session, order, "small", config.boxes).id
        packing.pack_item(session, carton, sku, units)
        packing.close_carton(session, carton, 150 + 300 * units, config.boxes, config.packing)
        labelling.finish_packing(session, order, config, "hand")
    with writing(sessions) as session:
        shipping.ship_by_hand(session, None, shipping.packed_shipment(session, order).id)


def test_an_order_short_of_units_waits_for_them_and_ships_whole(
    api: ApiClient,
    db: Session,
    sessions: sessionmaker[Session],
    config: Config,
) -> None:
    short = short_at_first_bin(api, make_channel(api), found=1)
    order, sku = short["order"], short["sku"]
    # The 2 not found are backordered; the one found waits in the tote with the order.
    assert api.get(f"/api/orders/{order}").json["status"] == "partial"
    assert_line(api, order, qty=3, reserved=1, backordered=2, shipped=0)
    assert refused(sessions, lambda s: packing.open_carton(s, order, "small", config.boxes)) == (
        "not_picked"
    )
    db.rollback()
    assert check_invariants(db) == []

    # Stock arrives: the backorder is reserved, and a list picks only the 2 missing.
    receive(api, sku, layout_bin(api, 4, 6), 5)
    assert api.get(f"/api/orders/{order}").json["status"] == "reserved"
    rest = pick_the_rest(api, order, short["tote"])
    assert sum(pick["qty"] for pick in rest["picks"]) == 2
    assert api.get(f"/api/orders/{order}").json["status"] == "picking"
    pack_and_ship(sessions, config, order, sku, 3)
    shipped = api.get(f"/api/orders/{order}").json
    assert shipped["status"] == "shipped" and len(shipped["shipments"]) == 1
    assert_line(api, order, qty=3, reserved=0, backordered=0, shipped=3)
    assert stock_of(api, sku)["reserved"] == 0
    db.rollback()
    assert check_invariants(db) == []


def test_on_a_channel_that_ships_partly_what_was_found_ships_and_the_rest_follows(
    api: ApiClient,
    db: Session,
    sessions: sessionmaker[Session],
    config: Config,
) -> None:
    channel = make_channel(api, ship_partial=True)
    short = short_at_first_bin(api, channel, found=1)
    order, sku = short["order"], short["sku"]
    # Packed now, with what was found; the order says what it still waits for.
    assert api.get(f"/api/orders/{order}").json["status"] == "picking"
    assert_line(api, order, reserved=1, backordered=2)
    pack_and_ship(sessions, config, order, sku, 1)
    first = api.get(f"/api/orders/{order}").json
    assert first["status"] == "backordered"
    assert_line(api, order, qty=3, reserved=0, backordered=2, shipped=1)
    assert [s["status"] for s in first["shipments"]] == ["shipped"]
    db.rollback()
    assert check_invariants(db) == []

    # The rest arrives, is picked, and leaves as shipment 2.
    receive(api, sku, layout_bin(api, 5, 2), 4)
    assert api.get(f"/api/orders/{order}").json["status"] == "reserved"
    rest = pick_the_rest(api, order, short["tote"])
    assert sum(pick["qty"] for pick in rest["picks"]) == 2
    pack_and_ship(sessions, config, order, sku, 2)
    done = api.get(f"/api/orders/{order}").json
    assert done["status"] == "shipped"
    assert [(s["number"], s["status"]) for s in done["shipments"]] == [
        (1, "shipped"), (2, "shipped"),
    ]  # fmt: skip
    assert [len(s["cartons"]) for s in done["shipments"]] == [1, 1]
    assert line_of(api, order)["shipped"] == 3
    second = api.get(f"/api/shipments/{done['shipments'][1]['id']}").json
    assert second["number"] == 2 and [c["number"] for c in second["cartons"]] == [2]
    assert second["cartons"][0]["items"] == [{"sku": sku, "qty": 2}]
    db.rollback()
    assert check_invariants(db) == []


def test_nothing_found_on_a_channel_that_ships_partly_leaves_nothing_to_pack(
    api: ApiClient, db: Session
) -> None:
    short = short_at_first_bin(api, make_channel(api, ship_partial=True), found=0)
    assert api.get(f"/api/orders/{short['order']}").json["status"] == "backordered"
    assert_line(api, short["order"], reserved=0, backordered=3)
    db.rollback()
    assert check_invariants(db) == []


def test_a_released_list_leaves_its_picked_units_with_the_order(
    api: ApiClient, db: Session
) -> None:
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api, 1, 4), 5)
    order = place_order(api, make_channel(api), {sku: 2})["id"]
    made = api.post("/api/pick-lists", {"orders": [order]}).json
    start(api, made["id"])
    totes = put_totes(api, made)
    (pick,) = made["picks"]
    assert confirm(api, made["id"], pick, qty=1, tote=totes[order]).status_code == 200
    released = api.as_role("supervisor").post(f"/api/pick-lists/{made['id']}/release")
    assert released.status_code == 200
    # Back among the orders to pick: a new list takes the one unit still in its bin.
    assert api.get(f"/api/orders/{order}").json["status"] == "reserved"
    again = pick_the_rest(api, order, totes[order])
    assert [p["qty"] for p in again["picks"]] == [1]
    assert api.get(f"/api/orders/{order}").json["status"] == "picking"
    db.rollback()
    assert check_invariants(db) == []


def test_a_tote_that_holds_another_orders_units_is_refused(api: ApiClient) -> None:
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api, 3, 1), 6)
    channel = make_channel(api)
    first = place_order(api, channel, {sku: 1})["id"]
    made = api.post("/api/pick-lists", {"orders": [first]}).json
    start(api, made["id"])
    totes = put_totes(api, made)
    assert confirm(api, made["id"], made["picks"][0], tote=totes[first]).status_code == 200
    second = place_order(api, channel, {sku: 1})["id"]
    other = api.post("/api/pick-lists", {"orders": [second]}).json
    start(api, other["id"])
    taken = api.as_role("picker").put(
        f"/api/pick-lists/{other['id']}/totes/1", {"tote": totes[first]}
    )
    assert taken.status_code == 422 and taken.json["error"]["code"] == "tote_in_use"
    assert f"holds units of order {first}" in taken.json["error"]["message"]


@pytest.mark.parametrize("found", [-1, 3, "1"])
def test_a_short_pick_takes_a_found_count_below_what_was_asked(api: ApiClient, found: Any) -> None:
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api, 2, 7), 3)
    order = place_order(api, make_channel(api), {sku: 3})["id"]
    made = api.post("/api/pick-lists", {"orders": [order]}).json
    start(api, made["id"])
    totes = put_totes(api, made)
    answer = api.as_role("picker").post(
        f"/api/pick-lists/{made['id']}/picks/{made['picks'][0]['id']}/short",
        {"found": found, "tote": totes[order]},
    )
    assert answer.status_code == 422
    assert stock_of(api, sku)["on_hand"] == 3

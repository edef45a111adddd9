"""Pick lists: bins held first-expiry-first-out or in the fewest stops, never twice."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import ApiClient, make_channel, make_product, order_body, receive
from warehouse.invariants import check_invariants
from warehouse.models import OrderLine, Pick, PickList, Stock


def layout_bin(api: ApiClient, aisle: int | None = None, bay: int | None = None) -> str:
    """A bin inside the default layout (aisles A01-A05, bays 01-08), made if new."""
    aisle = aisle or random.randint(1, 5)
    bay = bay or random.randint(1, 8)
    code = f"A0{aisle}-{bay:02d}-{random.randint(1, 9)}"
    assert api.put(f"/api/locations/{code}", {}).status_code in (200, 201)
    return code


def place_order(api: ApiClient, channel: str, lines: dict[str, int]) -> dict[str, Any]:
    answer = api.post(f"/api/channels/{channel}/orders", order_body(lines))
    assert answer.status_code == 201, answer.json
    return answer.json  # type: ignore[no-any-return]


def pick_list(api: ApiClient, *order_ids: int) -> Any:
    return api.post("/api/pick-lists", {"orders": list(order_ids)})


def held(db: Session, sku: str) -> int:
    db.rollback()
    return int(
        db.scalar(
            select(func.coalesce(func.sum(Stock.allocated), 0))
            .join(Stock.product)
            .where(Stock.product.has(sku=sku))
        )
        or 0
    )


def test_a_pick_list_holds_the_units_and_walks_the_route(
    api: ApiClient, channel: str, db: Session
) -> None:
    first, second = make_product(api)["sku"], make_product(api)["sku"]
    bin_1, bin_2 = layout_bin(api, 1, 2), layout_bin(api, 4, 7)
    receive(api, first, bin_1, 5)
    receive(api, second, bin_2, 5)
    order = place_order(api, channel, {first: 2, second: 3})
    made = pick_list(api, order["id"])
    assert made.status_code == 201, made.json
    body = made.json
    assert body["kind"] == "order" and body["status"] == "open"
    assert body["route_method"] == "exact" and body["route_m"] > 0
    assert body["orders"] == [{"slot": 1, "order": order["id"], "tote": None}]
    assert sorted((p["sku"], p["location"], p["qty"]) for p in body["picks"]) == sorted(
        [(first, bin_1, 2), (second, bin_2, 3)]
    )
    assert [p["seq"] for p in body["picks"]] == [1, 2]
    assert api.get(f"/api/orders/{order['id']}").json["status"] == "picking"
    assert held(db, first) == 2 and held(db, second) == 3
    assert api.get(f"/api/pick-lists/{body['id']}").json == body


def test_first_expiry_first_out(api: ApiClient, channel: str) -> None:
    sku = make_product(api)["sku"]
    late, early, undated = layout_bin(api, 1), layout_bin(api, 2), layout_bin(api, 3)
    receive(api, sku, late, 5, lot="LATE", expiry="2028-01-01")
    receive(api, sku, early, 3, lot="EARLY", expiry="2027-01-01")
    receive(api, sku, undated, 9, lot="NONE")
    order = place_order(api, channel, {sku: 6})
    picks = pick_list(api, order["id"]).json["picks"]
    assert sorted((p["lot"], p["qty"]) for p in picks) == [("EARLY", 3), ("LATE", 3)]


def test_a_picks_expiry_is_an_iso_date_as_receipts_take_it(api: ApiClient, channel: str) -> None:
    sku = make_product(api)["sku"]
    receipt = receive(api, sku, layout_bin(api), 4, lot="L1", expiry="2027-03-31")
    order = place_order(api, channel, {sku: 2})
    made = pick_list(api, order["id"]).json
    shown = api.get(f"/api/pick-lists/{made['id']}").json
    assert [p["expiry"] for p in shown["picks"]] == ["2027-03-31"] == [receipt["expiry"]]
    assert [p["expiry"] for p in made["picks"]] == ["2027-03-31"]


def test_without_dates_the_fewest_stops(api: ApiClient, channel: str) -> None:
    sku = make_product(api)["sku"]
    small, big = layout_bin(api, 1), layout_bin(api, 5)
    receive(api, sku, small, 2)
    receive(api, sku, big, 10)
    order = place_order(api, channel, {sku: 5})
    picks = pick_list(api, order["id"]).json["picks"]
    assert [(p["location"], p["qty"]) for p in picks] == [(big, 5)]


def test_two_lists_never_get_the_same_units(api: ApiClient, channel: str, db: Session) -> None:
    sku = make_product(api)["sku"]
    bin_a, bin_b = layout_bin(api, 2), layout_bin(api, 3)
    receive(api, sku, bin_a, 4)
    receive(api, sku, bin_b, 4)
    orders = [place_order(api, channel, {sku: 3})["id"] for _ in range(2)]
    lists = [pick_list(api, order_id).json for order_id in orders]
    taken: dict[str, int] = {}
    for made in lists:
        for pick in made["picks"]:
            taken[pick["location"]] = taken.get(pick["location"], 0) + pick["qty"]
    assert sum(taken.values()) == 6 and all(qty <= 4 for qty in taken.values())
    assert held(db, sku) == 6


@pytest.mark.parametrize("case", ["twice", "backordered", "not_in_pick_bin", "unknown"])
def test_orders_that_cannot_be_picked_change_nothing(
    api: ApiClient, channel: str, db: Session, case: str
) -> None:
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api), 2)
    order = place_order(api, channel, {sku: 2})
    if case == "twice":
        assert pick_list(api, order["id"]).status_code == 201
    elif case == "backordered":
        order = place_order(api, channel, {sku: 1})
    elif case == "not_in_pick_bin":
        other = make_product(api)["sku"]
        assert api.put("/api/locations/DOCK-01", {}).status_code in (200, 201)
        receive(api, other, "DOCK-01", 3)
        order = place_order(api, channel, {other: 3})
    before = held(db, sku)
    order_id = 10**9 if case == "unknown" else order["id"]
    refused = pick_list(api, order_id)
    expected = 404 if case == "unknown" else 409
    assert refused.status_code == expected, refused.json
    assert held(db, sku) == before
    if case in ("backordered", "not_in_pick_bin"):
        assert api.get(f"/api/orders/{order_id}").json["status"] in ("backordered", "reserved")


def test_a_bin_outside_the_layout_is_refused(api: ApiClient, channel: str, db: Session) -> None:
    sku = make_product(api)["sku"]
    code = f"Z{random.randint(10, 99)}-01-1"
    assert api.put(f"/api/locations/{code}", {}).status_code in (200, 201)
    receive(api, sku, code, 2)
    order = place_order(api, channel, {sku: 2})
    refused = pick_list(api, order["id"])
    assert refused.status_code == 422 and refused.json["error"]["code"] == "outside_layout"
    assert code in refused.json["error"]["message"]
    assert held(db, sku) == 0
    assert api.get(f"/api/orders/{order['id']}").json["status"] == "reserved"


@pytest.mark.parametrize("orders", [[], list(range(1, 30)), ["x"], None])
def test_bad_pick_list_requests(api: ApiClient, orders: Any) -> None:
    assert api.post("/api/pick-lists", {"orders": orders}).status_code == 422


def test_pickers_may_not_plan(api: ApiClient) -> None:
    assert api.as_role("picker").post("/api/pick-lists", {"orders": [1]}).status_code == 403


def test_lists_made_at_once_for_overlapping_orders_share_no_units(
    app: Flask, api: ApiClient, tokens: dict[str, str], channel: str, db: Session
) -> None:
    skus = [make_product(api)["sku"] for _ in range(3)]
    for sku in skus:
        for aisle in (1, 3, 5):
            receive(api, sku, layout_bin(api, aisle), 5)
    orders = [
        place_order(api, channel, {sku: random.randint(1, 3) for sku in random.sample(skus, 2)})[
            "id"
        ]
        for _ in range(12)
    ]
    headers = {"Authorization": f"Bearer {tokens['supervisor']}"}

    def plan(share: list[int]) -> int:
        answer = app.test_client().post("/api/pick-lists", json={"orders": share}, headers=headers)
        return answer.status_code

    # Overlapping requests: each order is asked for by two lists at once.
    shares = [orders[i : i + 3] for i in range(0, 12, 3)] + [
        orders[i : i + 2] for i in range(1, 12, 3)
    ]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(plan, shares))
    assert set(statuses) <= {201, 409}
    db.rollback()
    lists_of_line: dict[int, set[int]] = {}
    live = (
        select(Pick.order_line_id, Pick.pick_list_id)
        .join(Pick.pick_list)
        .join(Pick.order_line)
        .where(PickList.status != "released", OrderLine.order_id.in_(orders))
    )
    for line_id, list_id in db.execute(live):
        lists_of_line.setdefault(line_id, set()).add(list_id)
    assert all(len(lists) == 1 for lists in lists_of_line.values()), "a line is on two lists"
    assert 201 in statuses
    for sku in skus:
        stocks = db.scalars(select(Stock).where(Stock.product.has(sku=sku))).all()
        assert all(0 <= s.allocated <= s.qty for s in stocks)
        planned = db.scalar(
            select(func.coalesce(func.sum(Pick.qty), 0))
            .join(Pick.stock)
            .where(Stock.product.has(sku=sku))
        )
        assert planned == sum(s.allocated for s in stocks)


def test_units_held_for_a_list_do_not_move_or_count_away(
    api: ApiClient, channel: str, db: Session
) -> None:
    sku = make_product(api)["sku"]
    bin_, other = layout_bin(api, 2, 3), layout_bin(api, 4, 4)
    receive(api, sku, bin_, 5)
    order = place_order(api, channel, {sku: 4})
    assert pick_list(api, order["id"]).status_code == 201
    moved = api.post("/api/stock/moves", {"sku": sku, "from": bin_, "to": other, "qty": 2})
    assert moved.status_code == 409 and "held for pick lists" in moved.json["error"]["message"]
    counted = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 3})
    assert counted.status_code == 409
    assert (
        api.post("/api/stock/moves", {"sku": sku, "from": bin_, "to": other, "qty": 1}).status_code
        == 201
    )
    db.rollback()
    assert [p for p in check_invariants(db) if sku in p] == []


def test_a_wave_groups_the_chosen_orders_cart_by_cart(api: ApiClient) -> None:
    channel = make_channel(api)
    left, right = make_product(api)["sku"], make_product(api)["sku"]
    receive(api, left, layout_bin(api, 1, 8), 20)
    receive(api, right, layout_bin(api, 5, 8), 20)
    side = {}
    for number in range(6):
        sku = left if number % 2 else right
        body = order_body({sku: 1}, ship_by=f"2030-01-0{number + 1}T12:00:00Z")
        answer = api.post(f"/api/channels/{channel}/orders", body)
        assert answer.status_code == 201, answer.json
        side[answer.json["id"]] = sku
    stuck = make_product(api)["sku"]
    assert api.put("/api/locations/DOCK-01", {}).status_code in (200, 201)
    receive(api, stuck, "DOCK-01", 1)
    unpickable = place_order(api, channel, {stuck: 1})["id"]
    made = api.post("/api/pick-lists/waves", {"channel": channel, "cart_size": 3, "max_orders": 7})
    assert made.status_code == 201, made.json
    lists = made.json["pick_lists"]
    assert [entry["order"] for entry in made.json["skipped"]] == [unpickable]
    assert len(lists) == 2 and all(p["kind"] == "wave" for p in lists)
    for pick_list in lists:
        # First come first served would mix the sides; the grouping keeps each cart on one.
        assert len({side[slot["order"]] for slot in pick_list["orders"]}) == 1
    for order_id in side:
        assert api.get(f"/api/orders/{order_id}").json["status"] == "picking"


def test_a_wave_with_nothing_to_pick_makes_no_lists(api: ApiClient) -> None:
    made = api.post("/api/pick-lists/waves", {"channel": make_channel(api)})
    assert made.status_code == 201 and made.json == {"pick_lists": [], "skipped": []}
    assert api.post("/api/pick-lists/waves", {"cart_size": 0}).status_code == 422


def test_a_wave_takes_the_most_urgent_orders_first(api: ApiClient) -> None:
    channel = make_channel(api)
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api, 2, 2), 10)
    ids = {}
    for day in (3, 1, 2):
        body = order_body({sku: 1}, ship_by=f"2030-02-0{day}T12:00:00Z")
        ids[day] = api.post(f"/api/channels/{channel}/orders", body).json["id"]
    made = api.post("/api/pick-lists/waves", {"channel": channel, "max_orders": 2}).json
    taken = sorted(slot["order"] for p in made["pick_lists"] for slot in p["orders"])
    assert taken == sorted([ids[1], ids[2]])
    assert api.get(f"/api/orders/{ids[3]}").json["status"] == "reserved"

"""Channel orders: reservation at intake, idempotency, backorders, cancel, the feeds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from tests.conftest import (
    ApiClient,
    make_channel,
    make_location,
    order_body,
    receive,
    ref,
    stock_of,
    stocked_product,
)
from warehouse import invariants, order_input, orders, outbox
from warehouse.db import make_sessionmaker, writing


def post(api: ApiClient, channel: str, body: Any) -> Any:
    return api.post(f"/api/channels/{channel}/orders", body)


def lines_of(order: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (line["sku"], line["qty"], line["reserved"], line["backordered"]) for line in order["lines"]
    ]


def test_a_channel_is_created_with_a_webhook_secret(api: ApiClient) -> None:
    code = ref("ch").lower()
    created = api.put(f"/api/channels/{code}", {"name": "Web shop", "priority": 5, "share": 0.5})
    assert created.status_code == 201
    assert created.json["webhook_secret"].startswith("whsec_")
    assert {k: created.json[k] for k in ("code", "name", "priority", "buffer", "share")} == {
        "code": code,
        "name": "Web shop",
        "priority": 5,
        "buffer": 0,
        "share": 0.5,
    }
    updated = api.put(f"/api/channels/{code}", {"name": "Web shop", "buffer": 3})
    assert updated.status_code == 200
    assert "webhook_secret" not in updated.json
    assert (updated.json["buffer"], updated.json["priority"], updated.json["share"]) == (
        3,
        100,
        1.0,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "share": 0}, "share"),
        ({"name": "x", "share": 1.5}, "share"),
        ({"name": "x", "buffer": -1}, "buffer"),
        ({"name": "x", "priority": "high"}, "priority"),
        ({}, "name"),
    ],
)
def test_bad_channels_are_refused(api: ApiClient, body: dict[str, Any], field: str) -> None:
    code = ref("ch").lower()
    response = api.put(f"/api/channels/{code}", body)
    assert response.status_code == 422 and response.json["error"]["field"] == field
    assert api.get(f"/api/channels/{code}/inventory").status_code == 404


def test_a_channel_code_must_be_plain(api: ApiClient) -> None:
    assert api.put("/api/channels/Web%20Shop", {"name": "x"}).status_code == 422


def test_an_order_is_reserved_in_full_in_part_or_backordered(api: ApiClient, channel: str) -> None:
    plenty, some, none = stocked_product(api, 10), stocked_product(api, 2), stocked_product(api, 0)
    response = post(api, channel, order_body({plenty: 3, some: 5, none: 1}))
    assert response.status_code == 201, response.json
    order = response.json
    assert order["status"] == "partial" and order["channel"] == channel
    assert lines_of(order) == [(plenty, 3, 3, 0), (some, 5, 2, 3), (none, 1, 0, 1)]
    assert stock_of(api, some) | {"locations": []} == {
        "sku": some,
        "on_hand": 2,
        "unsellable": 0,
        "reserved": 2,
        "available": 0,
        "locations": [],
    }
    assert post(api, channel, order_body({plenty: 7})).json["status"] == "reserved"
    assert post(api, channel, order_body({plenty: 1})).json["status"] == "backordered"
    assert api.get(f"/api/orders/{order['id']}").json == order


def test_the_same_order_again_is_not_reserved_twice(api: ApiClient, channel: str) -> None:
    sku = stocked_product(api, 10)
    body = order_body({sku: 4}, ship_by="2027-01-05T12:00:00+00:00")
    first = post(api, channel, body)
    # The same order with its keys in another order and other spacing is still the same order.
    raw = json.dumps(dict(reversed(list(body.items()))), indent=3)
    again = api.client.post(
        f"/api/channels/{channel}/orders",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.tokens['admin']}"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert stock_of(api, sku)["reserved"] == 4


def test_the_same_external_id_with_other_content_is_refused(api: ApiClient, channel: str) -> None:
    sku = stocked_product(api, 10)
    body = order_body({sku: 4})
    first = post(api, channel, body)
    changed = post(api, channel, {**body, "lines": [{"sku": sku, "qty": 5}]})
    assert changed.status_code == 409
    assert changed.json["error"]["code"] == "duplicate_external_id"
    assert stock_of(api, sku)["reserved"] == 4
    other_channel = post(api, make_channel(api), body)
    assert other_channel.status_code == 201 and other_channel.json["id"] != first.json["id"]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"lines": [{"sku": "NO-SUCH-SKU", "qty": 1}]}, 422, "unknown_sku", "lines[0].sku"),
        ({"lines": [{"sku": "{sku}", "qty": 0}]}, 422, "invalid_input", "lines[0].qty"),
        ({"lines": [{"sku": "{sku}", "qty": -3}]}, 422, "invalid_input", "lines[0].qty"),
        ({"lines": [{"sku": "{sku}", "qty": "2"}]}, 422, "invalid_input", "lines[0].qty"),
        ({"lines": [{"sku": "{sku}", "qty": 1.5}]}, 422, "invalid_input", "lines[0].qty"),
        ({"lines": []}, 422, "invalid_input", "lines"),
        (
            {"lines": [{"sku": "{sku}", "qty": 1}, {"sku": "{sku}", "qty": 2}]},
            422,
            "duplicate_line",
            "lines[1].sku",
        ),
        (
            {"ship_to": {"name": "A", "street1": "B", "postal_code": "1", "country": "US"}},
            422,
            "invalid_input",
            "ship_to.city",
        ),
        ({"ship_to": None}, 422, "invalid_input", "ship_to"),
        ({"external_id": ""}, 422, "invalid_input", "external_id"),
        ({"ship_by": "tomorrow"}, 422, "invalid_input", "ship_by"),
    ],
)
def test_a_bad_order_is_not_stored(
    api: ApiClient, channel: str, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    sku = stocked_product(api, 5)
    body = json.loads(json.dumps(order_body({sku: 1}) | change).replace("{sku}", sku))
    response = post(api, channel, body)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == field
    assert stock_of(api, sku)["reserved"] == 0
    if body["external_id"]:
        # Nothing was stored under that external id: a good order may use it now.
        good = post(api, channel, order_body({sku: 1}, external_id=body["external_id"]))
        assert good.status_code == 201


def test_an_unknown_channel_is_404(api: ApiClient) -> None:
    response = post(api, "no-such-channel", order_body({"X": 1}))
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_channel"


def test_cancel_releases_and_feeds_waiting_orders(api: ApiClient, channel: str) -> None:
    sku = stocked_product(api, 5)
    first = post(api, channel, order_body({sku: 4})).json
    second = post(api, channel, order_body({sku: 3})).json
    assert lines_of(second) == [(sku, 3, 1, 2)]
    cancelled = api.post(f"/api/orders/{first['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json["status"] == "cancelled"
    assert lines_of(cancelled.json) == [(sku, 4, 0, 0)]
    assert lines_of(api.get(f"/api/orders/{second['id']}").json) == [(sku, 3, 3, 0)]
    assert api.get(f"/api/orders/{second['id']}").json["status"] == "reserved"
    assert stock_of(api, sku)["reserved"] == 3
    again = api.post(f"/api/orders/{first['id']}/cancel")
    assert again.status_code == 200 and again.json["status"] == "cancelled"
    assert stock_of(api, sku)["reserved"] == 3


def test_a_shipped_order_cannot_be_cancelled(api: ApiClient, channel: str, engine: Engine) -> None:
    sku = stocked_product(api, 5)
    order = post(api, channel, order_body({sku: 1})).json
    with engine.begin() as connection:
        # Shipping comes with packing; until then, mark the order shipped with its
        # reservation consumed (the units stay on the books, as the ledger says).
        connection.execute(
            text("UPDATE order_line SET reserved = 0 WHERE order_id = :id"), {"id": order["id"]}
        )
        connection.execute(
            text("UPDATE product SET reserved = reserved - 1 WHERE sku = :sku"), {"sku": sku}
        )
        connection.execute(
            text("UPDATE customer_order SET status = 'shipped' WHERE id = :id"), {"id": order["id"]}
        )
        # As the outbox would have: the channel is told, and each channel of its new figure.
        tell_as_shipped(connection, order["id"], sku)
    response = api.post(f"/api/orders/{order['id']}/cancel")
    assert response.status_code == 409 and response.json["error"]["code"] == "already_shipped"
    assert api.get(f"/api/orders/{order['id']}").json["status"] == "shipped"


def tell_as_shipped(connection: Connection, order: int, sku: str) -> None:
    """What the outbox writes for an order shipped by hand in SQL: its channel told."""
    with Session(connection) as session:
        session.execute(
            text("UPDATE customer_order SET told_status = 'shipped' WHERE id = :id"), {"id": order}
        )
        product = session.execute(text("SELECT id FROM product WHERE sku = :sku"), {"sku": sku})
        outbox.touch_products(session, [product.scalar_one()])
        outbox.tell(session)


def test_backorders_are_filled_by_channel_priority_then_age(api: ApiClient) -> None:
    slow, fast = make_channel(api, priority=200), make_channel(api, priority=1)
    sku = stocked_product(api, 0)
    oldest = post(api, slow, order_body({sku: 2})).json
    older = post(api, fast, order_body({sku: 2})).json
    newer = post(api, fast, order_body({sku: 2})).json
    assert {o["status"] for o in (oldest, older, newer)} == {"backordered"}
    receive(api, sku, make_location(api), 3)
    got = {
        name: lines_of(api.get(f"/api/orders/{o['id']}").json)[0][2]
        for name, o in (("oldest", oldest), ("older", older), ("newer", newer))
    }
    assert got == {"older": 2, "newer": 1, "oldest": 0}
    assert api.get(f"/api/orders/{newer['id']}").json["status"] == "partial"
    # A count that finds more stock fills the rest.
    bin_ = stock_of(api, sku)["locations"][0]["location"]
    api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 6})
    got = [lines_of(api.get(f"/api/orders/{o['id']}").json)[0][2] for o in (oldest, older, newer)]
    assert got == [2, 2, 2]


def test_a_count_below_the_reservations_takes_back_the_newest(api: ApiClient, db: Session) -> None:
    high, low = make_channel(api, priority=1), make_channel(api, priority=90)
    sku = stocked_product(api, 6)
    first = post(api, high, order_body({sku: 2})).json
    second = post(api, low, order_body({sku: 2})).json
    third = post(api, high, order_body({sku: 2})).json
    bin_ = stock_of(api, sku)["locations"][0]["location"]
    counted = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 3})
    assert counted.status_code == 201
    held = [lines_of(api.get(f"/api/orders/{o['id']}").json)[0][2] for o in (first, second, third)]
    # The low-priority channel gives back first, then the newest order of the others.
    assert held == [2, 0, 1]
    assert stock_of(api, sku) | {"locations": []} == {
        "sku": sku,
        "on_hand": 3,
        "unsellable": 0,
        "reserved": 3,
        "available": 0,
        "locations": [],
    }
    db.rollback()
    assert invariants.check_invariants(db) == []


def test_moving_reserved_stock_keeps_its_reservations(api: ApiClient, channel: str) -> None:
    sku = stocked_product(api, 4)
    post(api, channel, order_body({sku: 4}))
    bin_ = stock_of(api, sku)["locations"][0]["location"]
    moved = api.post(
        "/api/stock/moves", {"sku": sku, "from": bin_, "to": make_location(api), "qty": 4}
    )
    assert moved.status_code == 201
    assert stock_of(api, sku)["reserved"] == 4


def test_the_available_to_sell_feed(api: ApiClient) -> None:
    code = make_channel(api, share=0.5, buffer=1)
    sku = stocked_product(api, 10)
    empty = stocked_product(api, 1)
    post(api, make_channel(api), order_body({sku: 3}))
    feed = api.get(f"/api/channels/{code}/inventory")
    assert feed.status_code == 200 and feed.json["channel"] == code
    items = {item["sku"]: item["available"] for item in feed.json["items"]}
    assert items[sku] == 2  # floor((10 - 3) * 0.5) - 1
    assert items[empty] == 0  # floor(0.5) - 1, never below 0
    csv = api.get(f"/api/channels/{code}/inventory?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    rows = csv.text.splitlines()
    assert rows[0] == "sku,available"
    assert f"{sku},2" in rows and len(rows) == len(items) + 1
    assert api.get("/api/channels/no-such/inventory?format=csv").status_code == 404
    assert api.get(f"/api/channels/{code}/inventory?format=xml").status_code == 422


@pytest.mark.parametrize(
    ("role", "path", "allowed"),
    [
        ("picker", "orders", False),
        ("integration", "orders", True),
        ("receiver", "inventory", False),
        ("integration", "inventory", True),
    ],
)
def test_who_may_take_orders_and_read_feeds(
    api: ApiClient, channel: str, role: str, path: str, allowed: bool
) -> None:
    sku = stocked_product(api, 1)
    as_role = api.as_role(role)
    if path == "orders":
        response = post(as_role, channel, order_body({sku: 1}))
        assert response.status_code == (201 if allowed else 403)
    else:
        assert as_role.get(f"/api/channels/{channel}/inventory").status_code == (
            200 if allowed else 403
        )


def test_check_names_a_reservation_that_no_order_holds(
    api: ApiClient, engine: Engine, db: Session
) -> None:
    sku = stocked_product(api, 5)
    with engine.begin() as connection:
        connection.execute(text("UPDATE product SET reserved = 2 WHERE sku = :sku"), {"sku": sku})
    try:
        db.rollback()
        assert f"{sku}: 2 reserved but open order lines hold 0" in invariants.check_invariants(db)
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE product SET reserved = 0 WHERE sku = :sku"), {"sku": sku}
            )


def test_the_supervisor_pages_list_and_show_orders(
    api: ApiClient, channel: str, client: FlaskClient, tokens: dict[str, str]
) -> None:
    sku = stocked_product(api, 1)
    hostile = "<script>alert(1)</script>^XA"
    body = order_body({sku: 2}, external_id=ref("PAGE"))
    body["ship_to"]["name"] = hostile
    order = post(api, channel, body).json
    headers = {"Authorization": f"Bearer {tokens['supervisor']}"}
    listing = client.get(f"/orders?channel={channel}&q={body['external_id'][:8]}", headers=headers)
    assert listing.status_code == 200 and body["external_id"] in listing.text
    detail = client.get(f"/orders/{order['id']}", headers=headers)
    assert "partial" in detail.text and "<script>alert" not in detail.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;^XA" in detail.text
    picker = client.get("/orders", headers={"Authorization": f"Bearer {tokens['picker']}"})
    assert picker.status_code == 403


def test_a_batch_takes_the_good_orders_and_names_the_bad(api: ApiClient, engine: Engine) -> None:
    channel = make_channel(api)
    sku = stocked_product(api, 3)
    ship = order_input.ShipTo("Ann Lee", "1 Main Street", "Springfield", "62701", "US")
    first = order_input.OrderInput(ref("B"), (order_input.LineInput(sku, 2),), ship)
    changed = order_input.OrderInput(first.external_id, (order_input.LineInput(sku, 1),), ship)
    unknown = order_input.OrderInput(ref("B"), (order_input.LineInput("NO-SUCH-SKU", 1),), ship)
    short = order_input.OrderInput(ref("B"), (order_input.LineInput(sku, 2),), ship)
    with writing(make_sessionmaker(engine)) as session:
        out = orders.take_orders(session, channel, [first, first, changed, unknown, short])
    assert [type(item).__name__ for item in out] == [
        "Taken",
        "Taken",
        "DuplicateExternalId",
        "UnknownSku",
        "Taken",
    ]
    assert out[0].created and not out[1].created and out[1].order_id == out[0].order_id
    assert api.get(f"/api/orders/{out[4].order_id}").json["status"] == "partial"
    assert stock_of(api, sku)["reserved"] == 3

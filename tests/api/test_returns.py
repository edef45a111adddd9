"""Returns: items of a shipped order booked back at a bin or at quarantine, each a ledger
movement; a refused return changes nothing."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanners.gtin import with_check_digit
from tests.api.test_packing import packed_order, picked, refused  # noqa: F401
from tests.api.test_picking import layout_bin, place_order
from tests.api.test_stock import ledger_size
from tests.conftest import (
    ApiClient,
    Floor,
    Person,
    make_channel,
    make_location,
    make_product,
    said,
    stock_of,
)
from warehouse import returns, shipping
from warehouse.config import Config
from warehouse.db import writing
from warehouse.invariants import check_invariants
from warehouse.models import PickListOrder, ScanLog


@pytest.fixture
def quarantine(api: ApiClient, config: Config) -> str:
    """The configured quarantine location, made if this database has none yet."""
    code = config.returns.quarantine
    assert api.put(f"/api/locations/{code}", {}).status_code in (200, 201)
    return code


@pytest.fixture
def shipped(factory: sessionmaker[Session], packed_order: int, picked: dict[str, Any]) -> Any:  # noqa: F811
    """The picked order (2 x heavy, 1 x light), packed and handed over: shipped."""
    with writing(factory) as session:
        shipping.ship_by_hand(session, None, shipping.packed_shipment(session, packed_order).id)
    return picked


def post_return(api: ApiClient, order: int, sku: str, qty: Any, **fields: Any) -> Any:
    return api.post("/api/returns", {"order_id": order, "sku": sku, "qty": qty, **fields})


def books(api: ApiClient, db: Session, *skus: str) -> tuple[Any, ...]:
    """Everything a refused return must leave as it was: stock per SKU and the ledger's size."""
    return (*(stock_of(api, sku) for sku in skus), ledger_size(db))


def on_hand_at(api: ApiClient, sku: str, location: str) -> int:
    held = {each["location"]: each["on_hand"] for each in stock_of(api, sku)["locations"]}
    return int(held.get(location, 0))


def test_returns_go_to_quarantine_or_to_a_scanned_bin(
    api: ApiClient, shipped: dict[str, Any], quarantine: str, db: Session
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]
    assert stock_of(api, heavy)["on_hand"] == 3
    in_quarantine = on_hand_at(api, heavy, quarantine)
    first = post_return(api, order, heavy, 1)
    assert first.status_code == 201, first.json
    assert first.json["location"] == quarantine
    assert (first.json["order_id"], first.json["sku"], first.json["qty"]) == (order, heavy, 1)
    bin_ = make_location(api)
    second = post_return(api, order, heavy, 1, location=bin_, reason="unopened")
    assert second.status_code == 201, second.json
    assert second.json["location"] == bin_
    summary = stock_of(api, heavy)
    assert summary["on_hand"] == 5 and summary["reserved"] == 0
    assert on_hand_at(api, heavy, quarantine) == in_quarantine + 1
    assert on_hand_at(api, heavy, bin_) == 1
    moves = api.get(f"/api/stock/{heavy}/movements?limit=2").json
    assert [(m["id"], m["kind"], m["qty"], m["location"], m["reference"], m["reason"])
            for m in moves] == [
        (second.json["movement_id"], "return", 1, bin_, f"order {order}", "unopened"),
        (first.json["movement_id"], "return", 1, quarantine, f"order {order}", "returned"),
    ]  # fmt: skip
    # Two shipped, two back: a third is one too many, and changes nothing.
    before = books(api, db, heavy)
    third = post_return(api, order, heavy, 1, location=bin_)
    assert third.status_code == 422
    assert third.json["error"]["code"] == "too_many" and third.json["error"]["field"] == "qty"
    assert books(api, db, heavy) == before
    assert check_invariants(db) == []


def test_returns_fill_a_waiting_backorder(
    api: ApiClient, shipped: dict[str, Any], db: Session
) -> None:
    light = shipped["light"]
    waiting = place_order(api, make_channel(api), {light: 5})
    assert waiting["status"] == "partial"
    done = post_return(api, shipped["order"], light, 1, location=layout_bin(api))
    assert done.status_code == 201, done.json
    assert api.get(f"/api/orders/{waiting['id']}").json["status"] == "reserved"
    assert stock_of(api, light) | {"locations": None} == {
        "sku": light, "on_hand": 5, "unsellable": 0, "reserved": 5, "available": 0,
        "locations": None,
    }  # fmt: skip
    db.rollback()
    assert check_invariants(db) == []


def test_returns_bring_back_the_lot_that_shipped(
    api: ApiClient,
    factory: sessionmaker[Session],
    shipped: dict[str, Any],
    quarantine: str,
) -> None:
    with factory() as session:
        order = returns.shipped_order(session, shipped["order"])
        lines = {line.sku: line for line in returns.return_lines(session, order)}
    assert {sku: (line.shipped, line.returned) for sku, line in lines.items()} == {
        shipped["heavy"]: (2, 0),
        shipped["light"]: (1, 0),
    }
    with writing(factory) as session:
        movement = returns.return_item(
            session, None, shipped["order"], shipped["light"], 1, None, quarantine, " torn box "
        )
        assert (movement.kind, movement.qty, movement.reason) == ("return", 1, "torn box")
        assert (movement.lot, movement.expiry) == (lines[shipped["light"]].lot, None)


def tote_of_order(db: Session, order: int) -> str:
    db.rollback()
    return str(db.scalar(select(PickListOrder.tote).where(PickListOrder.order_id == order)))


@pytest.mark.parametrize(
    ("case", "status", "code", "field"),
    [
        ("never_shipped", 422, "not_shipped_item", "sku"),
        ("unknown_sku", 422, "unknown_sku", "sku"),
        ("unknown_location", 422, "unknown_location", "location"),
        ("a_tote", 422, "not_a_bin", "location"),
        ("qty_0", 422, "invalid_input", "qty"),
        ("qty_-3", 422, "invalid_input", "qty"),
        ("qty_text", 422, "invalid_input", "qty"),
        ("too_many", 422, "too_many", "qty"),
        ("unknown_order", 404, "unknown_order", None),
        ("no_order", 422, "invalid_input", "order_id"),
    ],
)
def test_refused_returns_change_nothing(
    api: ApiClient,
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
    case: str,
    status: int,
    code: str,
    field: str | None,
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]
    body: dict[str, Any] = {"order_id": order, "sku": heavy, "qty": 1}
    if case == "never_shipped":
        body["sku"] = make_product(api)["sku"]
    elif case == "unknown_sku":
        body["sku"] = "NO-SUCH-SKU"
    elif case == "unknown_location":
        body["location"] = "Z99-99-9"
    elif case == "a_tote":
        body["location"] = tote_of_order(db, order)
    elif case.startswith("qty_"):
        body["qty"] = {"qty_0": 0, "qty_-3": -3, "qty_text": "2"}[case]
    elif case == "too_many":
        body["qty"] = 3
    elif case == "unknown_order":
        body["order_id"] = 2**31 - 2
    elif case == "no_order":
        del body["order_id"]
    before = books(api, db, heavy, shipped["light"])
    answer = api.post("/api/returns", body)
    assert answer.status_code == status, answer.json
    assert answer.json["error"]["code"] == code
    assert answer.json["error"].get("field") == field
    assert books(api, db, heavy, shipped["light"]) == before


def test_an_order_that_has_not_shipped_takes_no_returns(
    api: ApiClient,
    factory: sessionmaker[Session],
    picked: dict[str, Any],  # noqa: F811
    quarantine: str,
    db: Session,
) -> None:
    order, heavy = picked["order"], picked["heavy"]
    before = books(api, db, heavy)
    answer = post_return(api, order, heavy, 1)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "not_shipped"
    assert refused(factory, lambda s: returns.return_item(s, None, order, heavy, 1, None, quarantine)) == "not_shipped"  # fmt: skip
    assert books(api, db, heavy) == before


def test_returns_count_what_came_back_before(
    api: ApiClient,
    factory: sessionmaker[Session],
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]

    def give_back(units: int) -> Any:
        return lambda s: returns.return_item(s, None, order, heavy, units, None, quarantine)

    with writing(factory) as session:
        give_back(1)(session)
    before = books(api, db, heavy)
    assert refused(factory, give_back(2)) == "too_many"
    for units in (0, -3):
        assert refused(factory, give_back(units)) == "invalid_input"
    assert books(api, db, heavy) == before
    with writing(factory) as session:
        give_back(1)(session)
    assert refused(factory, give_back(1)) == "too_many"
    assert stock_of(api, heavy)["on_hand"] == 5


def test_returns_at_once_never_bring_back_more_than_shipped(
    app: Flask,
    api: ApiClient,
    tokens: dict[str, str],
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]
    headers = {"Authorization": f"Bearer {tokens['receiver']}"}

    def give_back(_: int) -> int:
        body = {"order_id": order, "sku": heavy, "qty": 1}
        return app.test_client().post("/api/returns", json=body, headers=headers).status_code

    # Two units shipped; six handhelds return one each at the same moment.
    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(give_back, range(6)))
    assert statuses == [201, 201, 422, 422, 422, 422]
    assert stock_of(api, heavy)["on_hand"] == 5
    db.rollback()
    assert check_invariants(db) == []


def test_returns_name_a_missing_quarantine_location(
    api: ApiClient,
    factory: sessionmaker[Session],
    shipped: dict[str, Any],
    db: Session,
) -> None:
    before = books(api, db, shipped["heavy"])
    code = refused(
        factory,
        lambda s: returns.return_item(s, None, shipped["order"], shipped["heavy"], 1, None, "QX-0"),
    )
    assert code == "no_quarantine"
    assert books(api, db, shipped["heavy"]) == before


@pytest.mark.parametrize("role", ["picker", "integration"])
def test_only_returns_roles_may_return(
    api: ApiClient, shipped: dict[str, Any], quarantine: str, db: Session, role: str
) -> None:
    before = books(api, db, shipped["heavy"])
    answer = post_return(api.as_role(role), shipped["order"], shipped["heavy"], 1)
    assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"
    assert books(api, db, shipped["heavy"]) == before
    assert post_return(api.as_role("packer"), shipped["order"], shipped["heavy"], 1).status_code == 201  # fmt: skip


def with_a_case(api: ApiClient, sku: str, units: int) -> str:
    """Give the product a case code of `units`; returns the code."""
    product = api.get(f"/api/products/{sku}").json
    case = with_check_digit("1" + product["barcodes"][0][:12])
    put = {"name": product["name"], "barcodes": product["barcodes"],
           "weight_g": product["weight_g"], "cases": [{"code": case, "units": units}]}  # fmt: skip
    assert api.put(f"/api/products/{sku}", put).status_code == 200
    return case


def returned_row(panel: str, sku: str) -> bool:
    """Whether the panel's table of lines shows the SKU as all come back."""
    return re.search(rf'<tr class="done">\s*<td>{re.escape(sku)}<', panel) is not None


def test_returns_by_scans(
    receiver: Floor,
    api: ApiClient,
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
    staff: dict[str, Person],
) -> None:
    order, heavy, light = shipped["order"], shipped["heavy"], shipped["light"]
    case = with_a_case(api, heavy, 2)
    assert "Returns" in receiver.client.get("/").text
    page = receiver.client.get("/returns")
    assert page.status_code == 200 and "Scan the order" in page.text
    assert receiver.view("returns")["state"] == {}

    found = receiver.scan("returns", f"O{order:08d}")
    assert found.status_code == 200 and found.json["outcome"] == "good", found.text
    assert found.json["state"] == {"order": order}
    assert f'data-testid="order">{order}<' in found.json["panel"]
    assert "Scan a returned item" in found.json["panel"]
    # A case code counts its units; nothing is booked until the bin is scanned.
    held = receiver.scan("returns", case)
    assert held.status_code == 200 and held.json["outcome"] == "good", held.text
    assert held.json["state"]["item"] | {"name": ""} == {"sku": heavy, "name": "", "units": 2}
    assert 'data-field="qty"' in held.json["panel"] and 'value="2"' in held.json["panel"]
    assert stock_of(api, heavy)["on_hand"] == 3
    bin_ = make_location(api)
    put = receiver.scan("returns", bin_)
    assert put.status_code == 200 and put.json["outcome"] == "good", put.text
    assert f"Returned 2 of {heavy} to {bin_}." in said(put)
    assert put.json["state"] == {"order": order}
    assert on_hand_at(api, heavy, bin_) == 2 and stock_of(api, heavy)["on_hand"] == 5
    assert returned_row(put.json["panel"], heavy) and not returned_row(put.json["panel"], light)

    # The order typed by hand; the light item to quarantine, with a reason.
    assert receiver.act("returns", "leave").json["state"] == {}
    typed = receiver.act("returns", "order", order=str(order))
    assert typed.status_code == 200 and typed.json["state"] == {"order": order}, typed.text
    held = receiver.scan("returns", api.get(f"/api/products/{light}").json["barcodes"][0])
    assert (
        held.json["state"]["item"]["units"] == 1
        and 'data-testid="quarantine"' in (held.json["panel"])
    )
    in_quarantine = on_hand_at(api, light, quarantine)
    # A second tap on the button (the same scan id) books nothing more.
    scan_id = secrets.token_hex(16)
    for _ in range(2):
        sent = receiver.act("returns", "quarantine", scan_id=scan_id, qty="1", reason="scratched")
        # Done, but not for stock: never shown green.
        assert sent.status_code == 200 and sent.json["outcome"] == "warn", sent.text
        assert f"Returned 1 of {light} to quarantine ({quarantine})." in said(sent)
    assert on_hand_at(api, light, quarantine) == in_quarantine + 1
    assert returned_row(sent.json["panel"], light)
    moves = api.get(f"/api/stock/{light}/movements?limit=1").json
    assert (moves[0]["kind"], moves[0]["reason"], moves[0]["user"]) == (
        "return", "scratched", staff["receiver"].name,
    )  # fmt: skip
    db.rollback()
    assert len(list(db.scalars(select(ScanLog).where(ScanLog.scan_id == scan_id)))) == 1
    assert check_invariants(db) == []


def test_returned_units_may_be_typed(
    receiver: Floor, api: ApiClient, shipped: dict[str, Any], quarantine: str, db: Session
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]
    receiver.scan("returns", f"O{order:08d}")
    receiver.scan("returns", heavy)
    typed = receiver.act("returns", "qty", qty="2")
    assert typed.status_code == 200 and typed.json["state"]["item"]["units"] == 2, typed.text
    assert f"{heavy}: 2." in said(typed)
    bin_ = make_location(api)
    assert receiver.scan("returns", bin_).status_code == 200
    assert on_hand_at(api, heavy, bin_) == 2
    # All that shipped came back: one more is refused, and changes nothing.
    before = books(api, db, heavy)
    again = receiver.scan("returns", heavy)
    assert again.status_code == 422 and "0 more may be returned, not 1" in said(again)
    assert books(api, db, heavy) == before


def test_a_return_cancelled_or_left_books_nothing(
    receiver: Floor, api: ApiClient, shipped: dict[str, Any], quarantine: str, db: Session
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]
    receiver.scan("returns", f"O{order:08d}")
    receiver.scan("returns", heavy)
    before = books(api, db, heavy)
    cancelled = receiver.act("returns", "cancel")
    assert cancelled.status_code == 200 and cancelled.json["outcome"] == "warn"
    assert "nothing was returned" in said(cancelled)
    assert cancelled.json["state"] == {"order": order}
    assert books(api, db, heavy) == before
    # Nothing in hand now: the bin is not taken for a place to book into.
    assert receiver.scan("returns", make_location(api)).status_code == 422
    # Next order with an item in hand: it was not returned, and that is no green answer.
    receiver.scan("returns", heavy)
    left = receiver.act("returns", "leave")
    assert left.status_code == 200 and left.json["outcome"] == "warn", left.text
    assert f"The 1 of {heavy} were not returned" in said(left) and left.json["state"] == {}
    assert books(api, db, heavy) == before


@pytest.mark.parametrize(
    ("events", "status", "message"),
    [
        # Before an order.
        ([("scan", "{unshipped}")], 409, "not shipped"),
        ([("scan", "{heavy}")], 422, "is not an order"),
        ([("act", "order", {"order": "2147483646"})], 404, "No order has id 2147483646"),
        ([("act", "order", {"order": "O12"})], 422, "must be a whole number"),
        ([("act", "order", {"order": "0"})], 404, "No order has id 0."),
        # An order number of 8 digits or more is an order number, not a barcode.
        ([("act", "order", {"order": "40063813"})], 404, "No order has id 40063813."),
        # An order, no item in hand.
        ([("scan", "{order}"), ("scan", "{heavy}"), ("scan", "{heavy}"), ("scan", "{heavy}")],
         422, "2 more may be returned, not 3"),
        ([("scan", "{order}"), ("scan", "{other}")], 422, "was never shipped"),
        ([("scan", "{order}"), ("scan", "NOTHING-KNOWN-HERE")], 422,
         "not an item this warehouse knows"),
        ([("scan", "{order}"), ("scan", "{bin}")], 422, "Scan the returned item first"),
        ([("scan", "{order}"), ("act", "quarantine", {})], 409, "Scan the returned item first"),
        ([("scan", "{order}"), ("act", "qty", {"qty": "1"})], 409,
         "Scan the returned item first"),
        ([("scan", "{order}"), ("act", "explode", {})], 422, "no button"),
        # An item in hand.
        ([("scan", "{order}"), ("scan", "{heavy}"), ("scan", "{light}")], 409,
         "Put the 1 of {heavy} back first"),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("scan", "{order}")], 409,
         "Put the 1 of {heavy} back first"),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("scan", "Z98-98-8")], 422,
         "Z98-98-8 is not a bin: scan the bin the {heavy} goes back to"),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("scan", "{tote}")], 422,
         "{tote} is a tote: scan a bin"),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("act", "qty", {"qty": "0"})], 422,
         "Units must be 1 or more."),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("act", "qty", {"qty": "x"})], 422,
         "Units must be a whole number."),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("act", "qty", {"qty": "3"})], 422,
         "2 more may be returned, not 3"),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("act", "qty", {"qty": "6141410000981"})],
         422, "looks like a scanned barcode"),
        ([("scan", "{order}"), ("scan", "{heavy}"), ("act", "quarantine", {"reason": "r" * 201})],
         422, "200 characters at most"),
    ],
)  # fmt: skip
def test_refused_returns_by_scan_change_nothing(
    receiver: Floor,
    api: ApiClient,
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
    events: list[Any],
    status: int,
    message: str,
) -> None:
    order, heavy, light = shipped["order"], shipped["heavy"], shipped["light"]
    other = make_product(api)["sku"]
    unshipped = place_order(api, make_channel(api), {other: 1})["id"]
    codes = {
        "order": f"O{order:08d}", "unshipped": f"O{unshipped:08d}", "heavy": heavy,
        "light": light, "other": other, "bin": make_location(api),
        "tote": tote_of_order(db, order),
    }  # fmt: skip
    before = books(api, db, heavy, light, other)
    answer, state = None, None
    for kind, value, *rest in events:
        state = receiver.view("returns")["state"]
        filled = value.format(**codes)
        answer = (
            receiver.scan("returns", filled)
            if kind == "scan"
            else receiver.act("returns", filled, **rest[0])
        )
    assert answer is not None and answer.status_code == status, answer.text
    assert message.format(**codes) in said(answer)
    # A refused event leaves the flow where it was, and the books as they were.
    assert receiver.view("returns")["state"] == state
    assert books(api, db, heavy, light, other) == before

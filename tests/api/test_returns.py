"""Returns: items of a shipped order booked back at a bin or at quarantine, each a ledger
movement; a refused return changes nothing."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanners.gtin import with_check_digit
from tests.api.test_floor import Handheld, outcome_of, receiver  # noqa: F401
from tests.api.test_packing import factory, packed_order, picked, refused  # noqa: F401
from tests.api.test_picking import layout_bin, place_order
from tests.api.test_stock import ledger_size
from tests.conftest import (
    ApiClient,
    Person,
    make_channel,
    make_location,
    make_product,
    stock_of,
)
from warehouse import returns, shipping
from warehouse.config import Config
from warehouse.db import writing
from warehouse.invariants import check_invariants
from warehouse.models import PickListOrder


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
        "sku": light, "on_hand": 5, "reserved": 5, "available": 0, "locations": None,
    }  # fmt: skip
    db.rollback()
    assert check_invariants(db) == []


def test_returns_bring_back_the_lot_that_shipped(
    api: ApiClient,
    factory: sessionmaker[Session],  # noqa: F811
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
    factory: sessionmaker[Session],  # noqa: F811
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
    factory: sessionmaker[Session],  # noqa: F811
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
    factory: sessionmaker[Session],  # noqa: F811
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


def test_returns_by_scans(
    receiver: Handheld,  # noqa: F811
    api: ApiClient,
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
    staff: dict[str, Person],
) -> None:
    order, heavy, light = shipped["order"], shipped["heavy"], shipped["light"]
    # A case code of the heavy item that counts its 2 units.
    product = api.get(f"/api/products/{heavy}").json
    case = with_check_digit("1" + product["barcodes"][0][:12])
    put = {"name": product["name"], "barcodes": product["barcodes"], "weight_g": 400,
           "cases": [{"code": case, "units": 2}]}  # fmt: skip
    assert api.put(f"/api/products/{heavy}", put).status_code == 200
    assert "Returns" in receiver.client.get("/").text
    page = receiver.client.get("/returns")
    assert page.status_code == 200 and "Scan the order" in page.text

    page = receiver.post("/returns", code=f"O{order:08d}")
    assert page.status_code == 200 and outcome_of(page) == "good", page.text
    assert f'data-testid="order">{order}<' in page.text and "Scan a returned item" in page.text
    page = receiver.post("/returns", code=case, order=str(order))
    assert outcome_of(page) == "good" and 'name="qty"' in page.text and 'value="2"' in page.text
    bin_ = make_location(api)
    page = receiver.post("/returns", code=bin_, order=str(order), sku=heavy, qty="2")
    assert page.status_code == 200 and outcome_of(page) == "good", page.text
    assert f"Returned 2 of {heavy} to {bin_}." in page.text
    assert on_hand_at(api, heavy, bin_) == 2

    # The order typed by hand; the light item to quarantine, with a reason.
    page = receiver.post("/returns", code=str(order))
    assert outcome_of(page) == "good"
    page = receiver.post("/returns", code=light, order=str(order))
    assert outcome_of(page) == "good" and 'value="1"' in page.text
    in_quarantine = on_hand_at(api, light, quarantine)
    # The page carries its scan id, so a second tap on the button books nothing more.
    scan_id = re.search(r'name="scan_id" value="(\w+)"', page.text)[1]  # type: ignore[index]
    for _ in range(2):
        page = receiver.post(
            "/returns", code="", action="quarantine", order=str(order), sku=light, qty="1",
            reason="scratched", scan_id=scan_id,
        )  # fmt: skip
        assert outcome_of(page) == "good", page.text
    assert f"Returned 1 of {light} to quarantine ({quarantine})." in page.text
    assert on_hand_at(api, light, quarantine) == in_quarantine + 1
    moves = api.get(f"/api/stock/{light}/movements?limit=1").json
    assert (moves[0]["kind"], moves[0]["reason"], moves[0]["user"]) == (
        "return", "scratched", staff["receiver"].name,
    )  # fmt: skip
    db.rollback()
    assert check_invariants(db) == []


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("order:shipped-heavy", "more may be returned"),
        ("order:other-product", "was never shipped"),
        ("order:unknown-code", "not an item this warehouse knows"),
        ("order:bin", "Scan the returned item first"),
        ("start:unshipped", "not shipped"),
        ("start:product", "is not an order"),
        ("start:no-order", "No order has id"),
        ("place:product", "is not a location"),
        ("place:nothing", "Scan the bin, or send the item to quarantine"),
        ("place:qty-0", "qty must be 1 or more"),
        ("place:unknown-bin", "is not a location"),
    ],
)
def test_refused_returns_by_scan_change_nothing(
    receiver: Handheld,  # noqa: F811
    api: ApiClient,
    shipped: dict[str, Any],
    quarantine: str,
    db: Session,
    step: str,
    message: str,
) -> None:
    order, heavy = shipped["order"], shipped["heavy"]
    other = make_product(api)["sku"]
    unshipped = place_order(api, make_channel(api), {other: 1})["id"]
    form: dict[str, Any] = {
        "order:shipped-heavy": {"order": order, "code": heavy},
        "order:other-product": {"order": order, "code": other},
        "order:unknown-code": {"order": order, "code": "NOTHING-KNOWN-HERE"},
        "order:bin": {"order": order, "code": make_location(api)},
        "start:unshipped": {"code": f"O{unshipped:08d}"},
        "start:product": {"code": heavy},
        "start:no-order": {"code": "2147483646"},
        "place:product": {"order": order, "sku": heavy, "qty": "1", "code": heavy},
        "place:nothing": {"order": order, "sku": heavy, "qty": "1", "code": ""},
        "place:qty-0": {"order": order, "sku": heavy, "qty": "0", "action": "quarantine"},
        "place:unknown-bin": {"order": order, "sku": heavy, "qty": "1", "code": "Z98-98-8"},
    }[step]
    if step == "order:shipped-heavy":
        # One of the two came back already; a case of two is one too many.
        post_return(api, order, heavy, 1)
        product = api.get(f"/api/products/{heavy}").json
        case = with_check_digit("1" + product["barcodes"][0][:12])
        put = {"name": product["name"], "barcodes": product["barcodes"],
               "cases": [{"code": case, "units": 2}]}  # fmt: skip
        assert api.put(f"/api/products/{heavy}", put).status_code == 200
        form["code"] = case
    before = books(api, db, heavy, other)
    page = receiver.post("/returns", **form)
    assert page.status_code == 422 and outcome_of(page) == "bad", page.text
    assert message in page.text
    assert books(api, db, heavy, other) == before

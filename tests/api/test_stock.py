"""Receipts, counts and moves: each one ledger movement, bad input changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import ApiClient, make_location, make_product, receive, ref, stock_of
from warehouse import invariants
from warehouse.models import Movement


def ledger_size(db: Session) -> int:
    db.rollback()  # a new transaction sees what the requests committed
    return db.scalar(select(func.count()).select_from(Movement)) or 0


@pytest.fixture
def sku(api: ApiClient) -> str:
    return str(make_product(api)["sku"])


def test_receipt_adds_stock_and_one_movement(api: ApiClient, sku: str, db: Session) -> None:
    bin_a, bin_b = make_location(api), make_location(api)
    before = ledger_size(db)
    movement = receive(api, sku, bin_a, 7, reference="PO-1")
    receive(api, sku, bin_b, 3)
    receive(api, sku, bin_a, 2)
    assert (
        movement["qty"] == 7 and movement["kind"] == "receive" and movement["reference"] == "PO-1"
    )
    assert movement["user"].startswith("admin")
    assert stock_of(api, sku) == {
        "sku": sku,
        "on_hand": 12,
        "unsellable": 0,
        "reserved": 0,
        "available": 12,
        "locations": sorted(
            [{"location": bin_a, "on_hand": 9}, {"location": bin_b, "on_hand": 3}],
            key=lambda line: line["location"],
        ),
    }
    assert ledger_size(db) == before + 3


def test_lots_and_expiries_are_kept_apart(api: ApiClient, sku: str) -> None:
    bin_ = make_location(api)
    receive(api, sku, bin_, 4, lot="L1", expiry="2027-03-01")
    receive(api, sku, bin_, 5, lot="L1", expiry="2027-06-01")
    receive(api, sku, bin_, 6, lot="L2")
    receive(api, sku, bin_, 1, lot="L2")
    movements = api.get(f"/api/stock/{sku}/movements").json
    assert [(m["lot"], m["expiry"], m["qty"]) for m in movements] == [
        ("L2", None, 1),
        ("L2", None, 6),
        ("L1", "2027-06-01", 5),
        ("L1", "2027-03-01", 4),
    ]
    assert stock_of(api, sku)["on_hand"] == 16
    # A count must say which lot when a bin holds several.
    refused = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 3})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "lot_required"
    counted = api.post(
        "/api/stock/counts", {"sku": sku, "location": bin_, "counted": 3, "lot": "L2"}
    )
    assert counted.status_code == 201 and counted.json["qty"] == -4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"qty": 0}, "qty"),
        ({"qty": -3}, "qty"),
        ({"qty": "5"}, "qty"),
        ({"qty": 1.5}, "qty"),
        ({"qty": None}, "qty"),
        ({"expiry": "2027-02-30"}, "expiry"),
        ({"sku": ""}, "sku"),
        # A barcode scanned into Units, and more than one receipt may book (config.toml).
        ({"qty": 6141410000981}, "qty"),
        ({"qty": 10001}, "qty"),
    ],
)
def test_bad_receipts_change_nothing(
    api: ApiClient, sku: str, db: Session, change: dict[str, Any], field: str
) -> None:
    bin_ = make_location(api)
    before = ledger_size(db)
    response = api.post("/api/stock/receipts", {"sku": sku, "location": bin_, "qty": 2, **change})
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert stock_of(api, sku)["on_hand"] == 0
    assert ledger_size(db) == before


def test_unknown_sku_or_location_is_refused(api: ApiClient, sku: str, db: Session) -> None:
    bin_ = make_location(api)
    before = ledger_size(db)
    unknown_sku = api.post("/api/stock/receipts", {"sku": ref("NOPE"), "location": bin_, "qty": 1})
    assert unknown_sku.status_code == 422
    assert unknown_sku.json["error"]["code"] == "unknown_sku"
    unknown_bin = api.post("/api/stock/receipts", {"sku": sku, "location": "Z98-98-8", "qty": 1})
    assert unknown_bin.status_code == 422
    assert unknown_bin.json["error"] == {
        "code": "unknown_location",
        "field": "location",
        "message": "No location has code 'Z98-98-8'.",
    }
    assert api.get(f"/api/stock/{ref('NOPE')}").status_code == 404
    assert ledger_size(db) == before


def test_a_count_books_the_difference(api: ApiClient, sku: str) -> None:
    bin_ = make_location(api)
    receive(api, sku, bin_, 10)
    down = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 7})
    assert down.status_code == 201
    assert (down.json["kind"], down.json["qty"]) == ("adjust", -3)
    up = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 9})
    assert up.json["qty"] == 2
    same = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 9})
    assert same.json["qty"] == 0  # a count that matches is still on record
    assert stock_of(api, sku)["on_hand"] == 9


def test_a_count_of_an_empty_bin_finds_stock(api: ApiClient, sku: str) -> None:
    bin_ = make_location(api)
    found = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": 4})
    assert found.status_code == 201 and found.json["qty"] == 4
    assert stock_of(api, sku)["locations"] == [{"location": bin_, "on_hand": 4}]


@pytest.mark.parametrize("counted", [-1, "3", 2.5, 40614141000150, 10001])
def test_a_count_below_zero_or_not_whole_is_refused(api: ApiClient, sku: str, counted: Any) -> None:
    bin_ = make_location(api)
    receive(api, sku, bin_, 5)
    response = api.post("/api/stock/counts", {"sku": sku, "location": bin_, "counted": counted})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "counted"
    assert stock_of(api, sku)["on_hand"] == 5


def test_a_move_is_two_movements(api: ApiClient, sku: str) -> None:
    src, dst = make_location(api), make_location(api)
    receive(api, sku, src, 6, lot="L9")
    response = api.post("/api/stock/moves", {"sku": sku, "from": src, "to": dst, "qty": 4})
    assert response.status_code == 201
    moves = response.json["moves"]
    assert [(m["location"], m["qty"], m["lot"]) for m in moves] == [(src, -4, "L9"), (dst, 4, "L9")]
    stock = stock_of(api, sku)
    assert stock["on_hand"] == 6
    assert sorted((line["location"], line["on_hand"]) for line in stock["locations"]) == sorted(
        [(src, 2), (dst, 4)]
    )


def test_moving_more_than_is_there_changes_nothing(api: ApiClient, sku: str, db: Session) -> None:
    src, dst = make_location(api), make_location(api)
    receive(api, sku, src, 3)
    before = ledger_size(db)
    response = api.post("/api/stock/moves", {"sku": sku, "from": src, "to": dst, "qty": 4})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "insufficient_stock"
    same = api.post("/api/stock/moves", {"sku": sku, "from": src, "to": src, "qty": 1})
    assert same.status_code == 422
    unknown = api.post("/api/stock/moves", {"sku": sku, "from": src, "to": "Y01-01-1", "qty": 1})
    assert unknown.status_code == 422 and unknown.json["error"]["field"] == "to"
    assert stock_of(api, sku)["locations"] == [{"location": src, "on_hand": 3}]
    assert ledger_size(db) == before


def test_the_invariants_hold_after_every_kind_of_change(
    api: ApiClient, sku: str, db: Session
) -> None:
    src, dst = make_location(api), make_location(api)
    receive(api, sku, src, 8)
    api.post("/api/stock/moves", {"sku": sku, "from": src, "to": dst, "qty": 5})
    api.post("/api/stock/counts", {"sku": sku, "location": dst, "counted": 4})
    db.rollback()  # a new transaction sees what the requests committed
    assert invariants.check_invariants(db) == []


def test_a_barcode_as_a_quantity_is_said_to_be_one(api: ApiClient, sku: str) -> None:
    bin_ = make_location(api)
    answer = api.post("/api/stock/receipts", {"sku": sku, "location": bin_, "qty": 6141410000981})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "barcode_as_quantity"
    assert "looks like a scanned barcode" in answer.json["error"]["message"]
    too_many = api.post("/api/stock/receipts", {"sku": sku, "location": bin_, "qty": 10001})
    assert too_many.json["error"]["code"] == "too_many"
    assert "10000 at most" in too_many.json["error"]["message"]

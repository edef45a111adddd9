"""Walking a pick list: verified picks into totes, short picks, releasing an abandoned list."""

from __future__ import annotations

import itertools
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api.test_picking import layout_bin, place_order
from tests.conftest import ApiClient, make_channel, make_product, receive, stock_of
from warehouse.invariants import check_invariants
from warehouse.models import CountTask, Movement

# Tote codes of this run, never one twice: a tote holding units of an order not packed yet
# is refused for another (random codes collided now and then).
_TOTES = itertools.count(10_000 + secrets.randbelow(40_000))


def tote() -> str:
    return f"T{next(_TOTES):05d}"


@pytest.fixture
def batch(api: ApiClient) -> dict[str, Any]:
    """Two orders of two products in a batch list; bins with 5 units each."""
    channel = make_channel(api)
    first, second = make_product(api)["sku"], make_product(api)["sku"]
    bins = {first: layout_bin(api, 1, 3), second: layout_bin(api, 5, 6)}
    for sku, code in bins.items():
        receive(api, sku, code, 5)
    orders = [place_order(api, channel, {first: 2, second: 1})["id"] for _ in range(2)]
    made = api.post("/api/pick-lists", {"orders": orders})
    assert made.status_code == 201, made.json
    return {"list": made.json, "orders": orders, "bins": bins, "skus": [first, second]}


def start(api: ApiClient, list_id: int) -> Any:
    return api.as_role("picker").post(f"/api/pick-lists/{list_id}/start")


def put_totes(api: ApiClient, made: dict[str, Any]) -> dict[int, str]:
    totes = {}
    for place in made["orders"]:
        code = tote()
        answer = api.as_role("picker").put(
            f"/api/pick-lists/{made['id']}/totes/{place['slot']}", {"tote": code}
        )
        assert answer.status_code == 200, answer.json
        totes[place["order"]] = code
    return totes


def confirm(api: ApiClient, list_id: int, pick: dict[str, Any], **change: Any) -> Any:
    body = {"location": pick["location"], "sku": pick["sku"], "qty": pick["qty"], **change}
    return api.as_role("picker").post(f"/api/pick-lists/{list_id}/picks/{pick['id']}/confirm", body)


def test_a_batch_is_picked_by_verified_scans(
    api: ApiClient, batch: dict[str, Any], db: Session
) -> None:
    made = batch["list"]
    assert made["kind"] == "batch" and len(made["picks"]) == 4
    assert start(api, made["id"]).json["status"] == "picking"
    # Someone else cannot take it while it is held.
    other = api.as_role("supervisor").post(f"/api/pick-lists/{made['id']}/start")
    assert other.status_code in (403, 409)
    totes = put_totes(api, made)
    for pick in made["picks"]:
        right_tote = totes[pick["order"]]
        wrong = [
            ({"location": "A09-09-9"}, "wrong_location"),
            ({"sku": batch["skus"][0] if pick["sku"] != batch["skus"][0] else batch["skus"][1]},
             "wrong_item"),
            ({"qty": pick["qty"] + 1}, "too_many"),
            ({"tote": next(t for t in totes.values() if t != right_tote)}, "wrong_tote"),
        ]  # fmt: skip
        for change, code in wrong:
            refused = confirm(api, made["id"], pick, **{"tote": right_tote, **change})
            assert refused.status_code == 422 and refused.json["error"]["code"] == code, change
        done = confirm(api, made["id"], pick, tote=right_tote)
        assert done.status_code == 200, done.json
    final = done.json
    assert final["status"] == "done"
    assert final["progress"] == {"picked": 6, "units": 6}
    # The units moved in the ledger from the bins to the totes; the totals did not change.
    first, second = batch["skus"]
    assert stock_of(api, first)["on_hand"] == 5 and stock_of(api, second)["on_hand"] == 5
    locations = {line["location"]: line["on_hand"] for line in stock_of(api, first)["locations"]}
    assert locations[batch["bins"][first]] == 1
    assert sorted(locations[t] for t in totes.values()) == [2, 2]
    db.rollback()
    kinds = db.scalars(select(Movement.kind).where(Movement.reference == f"pick list {made['id']}"))
    assert set(kinds) == {"pick"}
    assert check_invariants(db) == []
    # A finished list takes no more picks.
    again = confirm(api, made["id"], made["picks"][0], tote=totes[made["picks"][0]["order"]])
    assert again.status_code == 409


def test_a_short_pick_counts_the_bin_and_picks_elsewhere(api: ApiClient, db: Session) -> None:
    channel = make_channel(api)
    sku = make_product(api)["sku"]
    first_bin, second_bin = layout_bin(api, 2, 2), layout_bin(api, 3, 5)
    receive(api, sku, first_bin, 4)
    receive(api, sku, second_bin, 3)
    order = place_order(api, channel, {sku: 4})["id"]
    made = api.post("/api/pick-lists", {"orders": [order]}).json
    (pick,) = made["picks"]
    assert pick["location"] == first_bin
    start(api, made["id"])
    totes = put_totes(api, made)
    shorted = api.as_role("picker").post(
        f"/api/pick-lists/{made['id']}/picks/{pick['id']}/short",
        {"found": 1, "tote": totes[order]},
    )
    assert shorted.status_code == 200, shorted.json
    picks = shorted.json["picks"]
    assert [(p["location"], p["qty"], p["picked"], p["status"]) for p in picks] == [
        (first_bin, 4, 1, "short"),
        (second_bin, 3, 0, "open"),
    ]
    db.rollback()
    task = db.scalars(select(CountTask).order_by(CountTask.id.desc())).first()
    assert task is not None and task.location.code == first_bin and "3 of" in task.reason
    done = confirm(api, made["id"], picks[1], tote=totes[order])
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done"
    db.rollback()
    assert check_invariants(db) == []
    # The 3 not found were written off the bin at once, so no one is sent there for them
    # again and no channel is offered them; counting the bin settles the count task.
    moves = api.get(f"/api/stock/{sku}/movements").json
    (written_off,) = [m for m in moves if m["kind"] == "adjust"]
    assert written_off["location"] == first_bin and written_off["qty"] == -3
    assert "short pick" in written_off["reason"]
    counted = api.post("/api/stock/counts", {"sku": sku, "location": first_bin, "counted": 0})
    assert counted.status_code == 201 and counted.json["qty"] == 0
    db.rollback()
    assert db.get(CountTask, task.id).done_at is not None  # type: ignore[union-attr]


def test_an_abandoned_list_is_released(api: ApiClient, batch: dict[str, Any], db: Session) -> None:
    made = batch["list"]
    start(api, made["id"])
    assert api.as_role("picker").post(f"/api/pick-lists/{made['id']}/release").status_code == 403
    listed = api.as_role("supervisor").get("/api/pick-lists").json["pick_lists"]
    mine = next(p for p in listed if p["id"] == made["id"])
    assert mine["status"] == "picking" and mine["picker"]
    released = api.as_role("supervisor").post(f"/api/pick-lists/{made['id']}/release")
    assert released.status_code == 200 and released.json["status"] == "released"
    for order_id in batch["orders"]:
        assert api.get(f"/api/orders/{order_id}").json["status"] == "reserved"
    db.rollback()
    assert check_invariants(db) == []
    # The orders can go on a new list.
    assert api.post("/api/pick-lists", {"orders": batch["orders"]}).status_code == 201


def test_two_pickers_starting_one_list_at_once_get_it_once(
    app: Flask, tokens: dict[str, str], batch: dict[str, Any]
) -> None:
    list_id = batch["list"]["id"]

    def take(role: str) -> int:
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        answer = app.test_client().post(f"/api/pick-lists/{list_id}/start", headers=headers)
        return answer.status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(take, ["picker", "supervisor"]))
    assert statuses == [200, 409]

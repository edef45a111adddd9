"""Counts: a difference too large for one person's count waits for a second count or a
supervisor before it is booked; a supervisor's count is booked at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import ApiClient, Floor, make_location, make_product, receive, stock_of


def count(api: ApiClient, role: str, sku: str, location: str, counted: int) -> Any:
    return api.as_role(role).post(
        "/api/stock/counts", {"sku": sku, "location": location, "counted": counted}
    )


def product_with(api: ApiClient, on_hand: int, **fields: Any) -> tuple[str, str]:
    sku, bin_ = make_product(api, **fields)["sku"], make_location(api)
    receive(api, sku, bin_, on_hand)
    return sku, bin_


def test_a_small_difference_is_booked_at_once(api: ApiClient) -> None:
    sku, bin_ = product_with(api, 30)
    booked = count(api, "receiver", sku, bin_, 28)
    assert booked.status_code == 201 and booked.json["qty"] == -2
    assert stock_of(api, sku)["on_hand"] == 28


def test_a_large_difference_waits_for_a_second_count_that_agrees(api: ApiClient) -> None:
    sku, bin_ = product_with(api, 100)
    first = count(api, "receiver", sku, bin_, 6)
    assert first.status_code == 202, first.json
    review = first.json
    assert (review["counted"], review["on_books"], review["difference"]) == (6, 100, -94)
    assert review["status"] == "pending" and stock_of(api, sku)["on_hand"] == 100
    assert review["id"] in [r["id"] for r in api.get("/api/stock/count-reviews").json["reviews"]]
    # Counted again, the same: it is so, and it is booked.
    second = count(api, "receiver", sku, bin_, 6)
    assert second.status_code == 201 and second.json["qty"] == -94
    assert stock_of(api, sku)["on_hand"] == 6
    assert review["id"] not in [
        r["id"] for r in api.get("/api/stock/count-reviews").json["reviews"]
    ]


def test_a_recount_near_the_books_replaces_the_count_in_review(api: ApiClient) -> None:
    sku, bin_ = product_with(api, 100)
    assert count(api, "receiver", sku, bin_, 6).status_code == 202
    again = count(api, "receiver", sku, bin_, 99)
    assert again.status_code == 201 and again.json["qty"] == -1
    assert sku not in [r["sku"] for r in api.get("/api/stock/count-reviews").json["reviews"]]


def test_a_large_difference_in_value_waits_too(api: ApiClient) -> None:
    sku, bin_ = product_with(api, 10, unit_cost="60.00")
    assert count(api, "receiver", sku, bin_, 8).status_code == 202  # 120.00 at cost
    assert stock_of(api, sku)["on_hand"] == 10


def test_a_supervisor_books_a_large_difference_at_once(api: ApiClient) -> None:
    sku, bin_ = product_with(api, 100)
    booked = count(api, "supervisor", sku, bin_, 6)
    assert booked.status_code == 201 and booked.json["qty"] == -94


def test_a_supervisor_approves_or_turns_down_a_count_in_review(api: ApiClient) -> None:
    sku, bin_ = product_with(api, 100)
    waiting = count(api, "receiver", sku, bin_, 40).json
    assert api.as_role("receiver").get("/api/stock/count-reviews").status_code == 403
    assert (
        api.as_role("receiver")
        .post(f"/api/stock/count-reviews/{waiting['id']}/approve")
        .status_code
        == 403
    )
    # Meanwhile 5 more arrive: the approval books the difference found, not the old figure.
    receive(api, sku, bin_, 5)
    approved = api.as_role("supervisor").post(f"/api/stock/count-reviews/{waiting['id']}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "booked"
    assert stock_of(api, sku)["on_hand"] == 45
    twice = api.as_role("supervisor").post(f"/api/stock/count-reviews/{waiting['id']}/approve")
    assert twice.status_code == 409 and twice.json["error"]["code"] == "count_decided"

    other = count(api, "receiver", sku, bin_, 0).json
    rejected = api.as_role("supervisor").post(f"/api/stock/count-reviews/{other['id']}/reject")
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert stock_of(api, sku)["on_hand"] == 45
    assert (
        api.as_role("supervisor").post("/api/stock/count-reviews/999999999/reject").status_code
        == 404
    )


def test_the_counts_page_books_a_count_in_review(
    api: ApiClient, floor: Callable[[str], Floor]
) -> None:
    sku, bin_ = product_with(api, 100)
    waiting = count(api, "receiver", sku, bin_, 70).json
    lead = floor("supervisor")
    listed = lead.client.get("/counts")
    row = listed.text[listed.text.index(f'data-review="{waiting["id"]}"') :]
    assert bin_ in row[:800] and sku in row[:800] and "-30" in row[:800]
    booked = lead.form("/counts", review=waiting["id"], action="approve")
    assert booked.status_code == 200 and f"{sku} -30" in booked.text
    assert stock_of(api, sku)["on_hand"] == 70


def test_a_large_difference_counted_on_the_handheld_waits_for_the_counts_page(
    api: ApiClient, floor: Callable[[str], Floor]
) -> None:
    sku, bin_ = product_with(api, 100)
    counter = floor("receiver")
    assert counter.scan("count", bin_).status_code == 200
    typed = counter.act("count", "set", sku=sku, lot="", counted="6")
    assert typed.status_code == 200, typed.text
    done = counter.act("count", "finish")
    # Counted, but not booked: never green.
    assert done.status_code == 200 and done.json["outcome"] == "warn", done.text
    assert f"Too large to book on one count: {sku} -94" in done.json["message"]
    assert stock_of(api, sku)["on_hand"] == 100
    (waiting,) = [r for r in api.get("/api/stock/count-reviews").json["reviews"] if r["sku"] == sku]
    lead = floor("supervisor")
    turned_down = lead.form("/counts", review=waiting["id"], action="reject")
    assert turned_down.status_code == 200
    assert f"Count {waiting['id']} turned down: the books stay." in turned_down.text
    assert f'data-review="{waiting["id"]}"' not in turned_down.text
    assert stock_of(api, sku)["on_hand"] == 100
    # Decided once: a second decision is refused on the page and books nothing.
    again = lead.form("/counts", review=waiting["id"], action="approve")
    assert again.status_code == 409 and stock_of(api, sku)["on_hand"] == 100

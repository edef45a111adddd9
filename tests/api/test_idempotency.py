"""Idempotency-Key: a request that books stock or changes an order, sent again with its key,
is applied once and answered as the first time; the same key with another request is refused."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.conftest import (
    ApiClient,
    make_channel,
    make_location,
    make_product,
    order_body,
    ref,
    stock_of,
    stocked_product,
)


def post(api: ApiClient, url: str, body: Any, key: str) -> TestResponse:
    return api.request("POST", url, body, headers={"Idempotency-Key": key})


def receipt(sku: str, location: str, qty: int = 3) -> dict[str, Any]:
    return {"sku": sku, "location": location, "qty": qty}


def test_a_retried_receipt_books_once_and_is_answered_as_the_first_time(api: ApiClient) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    key = ref("key")
    first = post(api, "/api/stock/receipts", receipt(sku, bin_), key)
    again = post(api, "/api/stock/receipts", receipt(sku, bin_), key)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert stock_of(api, sku)["on_hand"] == 3
    movements = api.get(f"/api/stock/{sku}/movements").json
    assert len(movements) == 1


def test_the_same_key_with_another_request_is_refused_and_changes_nothing(api: ApiClient) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    key = ref("key")
    assert post(api, "/api/stock/receipts", receipt(sku, bin_, 3), key).status_code == 201
    other = post(api, "/api/stock/receipts", receipt(sku, bin_, 4), key)
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    # The same body to another endpoint is another request too.
    channel = make_channel(api)
    elsewhere = post(api, f"/api/channels/{channel}/orders", order_body({sku: 1}), key)
    assert elsewhere.json["error"]["code"] == "idempotency_key_reused"
    assert stock_of(api, sku)["on_hand"] == 3
    assert stock_of(api, sku)["reserved"] == 0


def test_a_refused_request_keeps_no_key(api: ApiClient) -> None:
    sku, bin_ = ref("SKU"), make_location(api)
    key = ref("key")
    refused = post(api, "/api/stock/receipts", receipt(sku, bin_), key)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_sku"
    make_product(api, sku=sku)
    # The retry after the cause is fixed is applied: the refusal was not kept as the answer.
    assert post(api, "/api/stock/receipts", receipt(sku, bin_), key).status_code == 201
    assert stock_of(api, sku)["on_hand"] == 3


def test_keys_are_each_users_own(api: ApiClient) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    key = ref("key")
    assert post(api, "/api/stock/receipts", receipt(sku, bin_), key).status_code == 201
    other = api.as_role("receiver")
    assert post(other, "/api/stock/receipts", receipt(sku, bin_), key).status_code == 201
    assert stock_of(api, sku)["on_hand"] == 6


@pytest.mark.parametrize("key", ["", "x" * 256, "clé-1", "tab\there"])
def test_a_malformed_key_is_refused(api: ApiClient, key: str) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    answer = api.request(
        "POST", "/api/stock/receipts", receipt(sku, bin_), headers={"Idempotency-Key": key}
    )
    assert answer.status_code in (400, 422), answer.data
    if answer.status_code == 422:
        assert answer.json["error"]["field"] == "Idempotency-Key"
    assert stock_of(api, sku)["on_hand"] == 0


def test_orders_moves_counts_and_cancels_are_applied_once(api: ApiClient) -> None:
    sku = stocked_product(api, 10)
    bin_ = stock_of(api, sku)["locations"][0]["location"]
    channel = make_channel(api)
    body = order_body({sku: 2})
    key = ref("key")
    placed = post(api, f"/api/channels/{channel}/orders", body, key)
    assert placed.status_code == 201
    assert post(api, f"/api/channels/{channel}/orders", body, key).json == placed.json
    order = placed.json["id"]
    cancel_key = ref("key")
    cancelled = post(api, f"/api/orders/{order}/cancel", None, cancel_key)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert post(api, f"/api/orders/{order}/cancel", None, cancel_key).json == cancelled.json
    to = make_location(api)
    move = {"sku": sku, "from": bin_, "to": to, "qty": 4}
    move_key = ref("key")
    assert post(api, "/api/stock/moves", move, move_key).status_code == 201
    assert post(api, "/api/stock/moves", move, move_key).status_code == 201
    count = {"sku": sku, "location": to, "counted": 5}
    count_key = ref("key")
    assert post(api, "/api/stock/counts", count, count_key).status_code == 201
    assert post(api, "/api/stock/counts", count, count_key).status_code == 201
    places = {each["location"]: each["on_hand"] for each in stock_of(api, sku)["locations"]}
    assert places == {bin_: 6, to: 5}
    assert stock_of(api, sku)["reserved"] == 0


def test_the_openapi_document_names_the_header(client: Any) -> None:
    document = client.get("/api/openapi.json").json
    receipts = document["paths"]["/api/stock/receipts"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in receipts["parameters"])
    reading = document["paths"]["/api/stock/{sku}"]["get"]
    assert not any(p.get("name") == "Idempotency-Key" for p in reading.get("parameters", []))

"""Bounded input: every number, id, text and date has a range, checked before the database sees
it; a refusal is a 4xx naming the field and changes nothing; nothing the database or its
driver refuses comes back as a 500. Run on SQLite here and on PostgreSQL by tests/pg."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DataError, OperationalError

from tests.conftest import (
    ApiClient,
    make_channel,
    make_location,
    make_product,
    order_body,
    random_bin,
    ref,
    service_app,
    stock_of,
    warehouse_command,
)
from warehouse.channels import webhook_signature
from warehouse.config import Config
from warehouse.web import public


def refused(answer: Any, status: int, field: str | None) -> dict[str, Any]:
    """The error body of a refusal with this status, naming this field."""
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json["error"]
    assert error.get("field") == field, error
    assert "Traceback" not in error["message"] and "Error" not in error["message"]
    return error


@pytest.mark.parametrize(
    ("qty", "field"), [(2**62, "qty"), (2**31, "qty"), (2**63, "counted"), (1_000_000, "qty")]
)
def test_huge_receipts_and_counts_are_refused(
    api: ApiClient, database_url: str, qty: int, field: str
) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    path = "/api/stock/counts" if field == "counted" else "/api/stock/receipts"
    answer = api.post(path, {"sku": sku, "location": bin_, field: qty})
    refused(answer, 422, field)
    assert stock_of(api, sku)["on_hand"] == 0
    warehouse_command(database_url, "check")


def test_an_order_line_of_ten_to_the_twenty_is_refused(api: ApiClient, channel: str) -> None:
    sku = make_product(api)["sku"]
    body = order_body({sku: 10**20})
    refused(api.post(f"/api/channels/{channel}/orders", body), 422, "lines[0].qty")
    stored = api.post(
        f"/api/channels/{channel}/orders", {**body, "lines": [{"sku": sku, "qty": 1}]}
    )
    assert stored.status_code == 201  # the refused one left nothing under its external id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": 2**70}, "priority"),
        ({"priority": -1}, "priority"),
        ({"buffer": 2**63}, "buffer"),
    ],
)
def test_channel_numbers_have_ranges(api: ApiClient, body: dict[str, Any], field: str) -> None:
    code = ref("ch").lower()
    refused(api.put(f"/api/channels/{code}", {"name": "Shop", **body}), 422, field)
    assert api.put(f"/api/channels/{code}", {"name": "Shop"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weight_g": 2**63}, "weight_g"),
        ({"unit_price": "10000000000"}, "unit_price"),
        ({"unit_cost": -1}, "unit_cost"),
        ({"cases": [{"code": "CASEX1", "units": 2**63}]}, "cases[0].units"),
        ({"barcodes": [str(n) for n in range(51)]}, "barcodes"),
    ],
)
def test_product_numbers_have_ranges(api: ApiClient, body: dict[str, Any], field: str) -> None:
    sku = ref("SKU")
    refused(api.put(f"/api/products/{sku}", {"name": "Mug", **body}), 422, field)
    assert api.get(f"/api/products/{sku}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders/99999999999999999999",
        "/api/orders/2147483648",
        "/api/pick-lists/9223372036854775808",
        "/api/shipments/" + "9" * 5000,
        "/api/print-jobs/2147483648/reprint",
    ],
)
def test_ids_that_cannot_exist_are_404(api: ApiClient, path: str) -> None:
    method = "POST" if path.endswith("reprint") else "GET"
    answer = api.request(method, path)
    assert answer.status_code == 404, answer.text
    assert answer.json["error"]["code"] == "not_found"


def test_ids_are_documented_with_their_range(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    (order_id,) = spec["paths"]["/api/orders/{order_id}"]["parameters"]
    assert order_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    receipt = spec["components"]["schemas"]["ReceiptIn"]["properties"]
    assert receipt["qty"]["minimum"] == 1 and receipt["qty"]["maximum"] == 999_999
    line = spec["components"]["schemas"]["LineIn"]["properties"]
    assert line["qty"]["maximum"] == 999_999
    assert spec["components"]["schemas"]["OrderIn"]["properties"]["lines"]["maxItems"] == 10_000


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "\udfff"])
def test_text_that_is_not_text_is_refused_everywhere(api: ApiClient, bad: str) -> None:
    sku = make_product(api)["sku"]
    # ensure_ascii keeps a lone surrogate as its \\u escape, as a client would send it.
    raw = json.dumps({"name": bad}).encode()
    answer = api.client.put(
        f"/api/products/{sku}",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.tokens['admin']}"},
    )
    assert refused(answer, 422, "name")["code"] == "not_text"
    assert api.get(f"/api/products/{sku}").json["name"] == f"Test product {sku}"
    # Keys of an object, nested fields, query parameters and path parameters alike.
    ship_to = order_body({sku: 1})
    ship_to["ship_to"]["city"] = bad
    channel = make_channel(api)
    refused(api.post(f"/api/channels/{channel}/orders", ship_to), 422, "ship_to.city")
    refused(api.get(f"/api/stock/{sku}/movements?limit=1&x=a%00b"), 422, "x")


@pytest.mark.parametrize("path", ["/api/products/a%00b", "/api/locations/A%00", "/api/stock/%00"])
def test_a_nul_in_a_path_is_refused(api: ApiClient, path: str) -> None:
    answer = api.get(path)
    assert answer.status_code == 422 and answer.json["error"]["code"] == "not_text", answer.text


def test_a_name_longer_than_any_name_is_404(api: ApiClient) -> None:
    assert api.get("/api/products/" + "A" * 65).status_code == 404


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "body",
    [DEEP, b'{"name": ' + DEEP + b"}", b'{"a": "[[[", "b": ' + b"[" * 40 + b"]" * 40 + b"}"],
)
def test_deep_json_is_refused_before_it_is_parsed(api: ApiClient, body: bytes) -> None:
    answer = api.client.put(
        f"/api/products/{ref('SKU')}",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.tokens['admin']}"},
    )
    assert answer.status_code == 422 and answer.json["error"]["code"] == "too_deep", answer.text


def test_brackets_inside_strings_are_not_nesting(api: ApiClient) -> None:
    name = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\\' * 2
    product = make_product(api, name=name + "{" * 40)
    assert product["name"] == name + "{" * 40


def test_deep_json_through_a_signed_webhook_is_refused(client: FlaskClient, api: ApiClient) -> None:
    code = ref("hook").lower()
    secret = api.put(f"/api/channels/{code}", {"name": "Marketplace"}).json["webhook_secret"]
    stamp = str(int(time.time()))
    answer = client.post(
        f"/api/channels/{code}/webhook",
        data=DEEP,
        content_type="text/plain",
        headers={
            "X-Webhook-Timestamp": stamp,
            "X-Webhook-Signature": webhook_signature(secret, stamp, DEEP),
        },
    )
    assert answer.status_code == 422 and answer.json["error"]["code"] == "too_deep", answer.text


@pytest.mark.parametrize(
    "ship_by", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1999-12-31T12:00:00Z"]
)
def test_dates_outside_a_sane_range_are_refused(api: ApiClient, channel: str, ship_by: str) -> None:
    sku = make_product(api)["sku"]
    answer = api.post(f"/api/channels/{channel}/orders", order_body({sku: 1}, ship_by=ship_by))
    refused(answer, 422, "ship_by")
    expiry = api.post(
        "/api/stock/receipts",
        {"sku": sku, "location": make_location(api), "qty": 1, "expiry": "9999-12-31"},
    )
    refused(expiry, 422, "expiry")


def test_an_order_has_at_most_max_lines(api: ApiClient, channel: str) -> None:
    sku = make_product(api)["sku"]
    lines = [{"sku": sku, "qty": 1}] * 1001
    answer = api.post(f"/api/channels/{channel}/orders", {**order_body({}), "lines": lines})
    assert refused(answer, 422, "lines")["code"] == "too_many_lines"


def test_an_order_of_300000_lines_is_refused_not_a_503(api: ApiClient, channel: str) -> None:
    lines = [{"sku": f"S{n}", "qty": 1} for n in range(300_000)]
    answer = api.post(f"/api/channels/{channel}/orders", {**order_body({}), "lines": lines})
    refused(answer, 422, "lines")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("U000001", "badge"),
        ("T00001", "tote"),
        ("C00000001", "carton"),
        ("O00000042", "order"),
        ("QUAR-01", "location"),
        (None, "location"),
    ],
)
def test_internal_code_patterns_are_not_product_barcodes(
    api: ApiClient, code: str | None, kind: str
) -> None:
    code = code or random_bin()
    sku = ref("SKU")
    error = refused(
        api.put(f"/api/products/{sku}", {"name": "Mug", "barcodes": ["12345670", code]}),
        422,
        "barcodes[1]",
    )
    assert error["code"] == "reserved_barcode" and kind in error["message"]
    case = api.put(f"/api/products/{sku}", {"name": "Mug", "cases": [{"code": code, "units": 6}]})
    assert refused(case, 422, "cases[0].code")["code"] == "reserved_barcode"
    assert api.get(f"/api/products/{sku}").status_code == 404
    # The code still reads as what it is.
    resolved = api.post("/api/barcodes/resolve", {"code": code}).json
    assert resolved["kind"] != "product"


@pytest.fixture
def failing_app(config: Config) -> Flask:
    """The service with routes that fail as a database or its driver would."""
    app = service_app(config)
    app.config["TESTING"] = False  # the handlers answer, as in production
    failures: dict[str, BaseException] = {
        "data": DataError("INSERT", {}, Exception("value out of range")),
        "down": OperationalError("SELECT 1", {}, Exception("connection refused")),
        "overflow": OverflowError("Python int too large to convert to SQLite INTEGER"),
        "surrogate": UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        "recursion": RecursionError("maximum recursion depth exceeded"),
    }

    def fail(name: str) -> str:
        raise failures[name]

    app.add_url_rule("/api/fail/<name>", "fail", public(fail))
    return app


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("data", 422, "invalid_input"),
        ("overflow", 422, "invalid_input"),
        ("surrogate", 422, "invalid_input"),
        ("recursion", 422, "too_deep"),
        ("down", 503, "database_unavailable"),
    ],
)
def test_what_the_database_refuses_is_never_a_500(
    failing_app: Flask, name: str, status: int, code: str
) -> None:
    answer = failing_app.test_client().get(f"/api/fail/{name}")
    assert answer.status_code == status and answer.json["error"]["code"] == code
    assert "Error" not in answer.json["error"]["message"]

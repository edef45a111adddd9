"""What a site runs the service by: security headers on every answer, one JSON log line per
request, and the Prometheus metrics with who may read them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import (
    ApiClient,
    Floor,
    Person,
    make_channel,
    make_location,
    order_body,
    service_app,
    stocked_product,
)
from warehouse.config import Config

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def assert_secured(headers: Any) -> None:
    for name, value in SECURITY.items():
        assert headers.get(name) == value, name
    policy = {
        directive.split(" ", 1)[0]: directive.split(" ", 1)[1:]
        for directive in headers["Content-Security-Policy"].split("; ")
    }
    # Scripts only from the service's own files: no inline script, no handler attributes.
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "unsafe" not in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path", ["/login", "/healthz", "/api/openapi.json", "/static/handheld.css", "/no-such-page"]
)
def test_every_answer_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert_secured(answer.headers)
    # Plain HTTP: no HSTS, which would lock browsers out of a service without a certificate.
    assert "Strict-Transport-Security" not in answer.headers


def test_refusals_and_signed_in_pages_carry_them_too(
    client: FlaskClient, api: ApiClient, floor: Any
) -> None:
    assert_secured(client.get("/api/orders/1").headers)  # 401: no credentials
    assert_secured(api.as_role("picker").put("/api/channels/x", {"name": "x"}).headers)  # 403
    receiver: Floor = floor("receiver")
    assert_secured(receiver.client.get("/receive").headers)


def test_https_adds_strict_transport_security(config: Config) -> None:
    https = config.model_copy(
        update={
            "server": config.server.model_copy(
                update={"certificate": "cert.pem", "private_key": "key.pem"}
            )
        }
    )
    answer = service_app(https).test_client().get("/login")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert_secured(answer.headers)


def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "warehouse.requests"
    ]


def test_each_request_is_one_json_log_line(
    client: FlaskClient, api: ApiClient, staff: dict[str, Person], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="warehouse.requests")
    channel = make_channel(api)
    sku = stocked_product(api, 3)
    location = make_location(api)
    caplog.clear()
    created = api.as_role("integration").post(
        f"/api/channels/{channel}/orders", order_body({sku: 1})
    )
    assert created.status_code == 201, created.text
    client.get("/pack?station=pack1")
    refused = api.as_role("picker").put(f"/api/locations/{location}", {})
    assert refused.status_code == 403
    # Refused by the domain: its transaction rolled back, the user still named.
    unknown = api.as_role("receiver").post(
        "/api/stock/receipts", {"sku": "NO-SUCH-SKU", "location": location, "qty": 1}
    )
    assert unknown.status_code in (404, 422), unknown.text
    lines = log_lines(caplog)
    assert len(lines) == 4, lines
    order, page, forbidden, undone = lines
    assert undone["user"].startswith("receiver") and undone["status"] == unknown.status_code
    assert set(order) == {
        "time", "user", "station", "method", "path", "endpoint", "status", "duration_ms",
    }  # fmt: skip
    assert order["method"] == "POST" and order["path"] == f"/api/channels/{channel}/orders"
    assert order["status"] == 201 and order["endpoint"] == "orders.post_order"
    assert order["user"].startswith("integration") and order["station"] is None
    assert 0 < order["duration_ms"] < 10_000
    assert order["time"].endswith("+00:00")
    # Not signed in: no user, redirected to the login; the station it asked for is named.
    assert page["user"] is None and page["station"] == "pack1" and page["status"] == 302
    assert forbidden["status"] == 403 and forbidden["user"].startswith("picker")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus exposition."""
    wanted = name + (
        "{" + ",".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"
        if labels
        else ""
    )
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == wanted:
            return float(value)
    raise AssertionError(f"no sample {wanted}")


def test_metrics_count_requests_scans_orders_and_print_jobs(
    client: FlaskClient, api: ApiClient
) -> None:
    before = client.get("/metrics")
    assert before.status_code == 200, before.text
    assert before.mimetype == "text/plain"
    healthz = dict(endpoint="health.healthz", method="GET", status="200")
    count = "warehouse_request_seconds_count"
    seen = metric(before.text, count, **healthz) if "health.healthz" in before.text else 0
    for _ in range(3):
        client.get("/healthz")
    channel = make_channel(api)
    sku = stocked_product(api, 5)
    api.as_role("integration").post(f"/api/channels/{channel}/orders", order_body({sku: 2}))
    api.post("/api/barcodes/resolve", {"code": sku})
    after = client.get("/metrics").text
    assert metric(after, count, **healthz) == seen + 3
    assert metric(after, "warehouse_request_seconds_bucket", le="+Inf", **healthz) == seen + 3
    assert (
        metric(after, "warehouse_orders_received_total")
        == metric(before.text, "warehouse_orders_received_total") + 1
    )
    assert metric(after, "warehouse_orders", status="reserved") >= 1
    assert metric(after, "warehouse_scans_total", accepted="true") >= 1
    assert metric(after, "warehouse_print_jobs", state="queued") >= 0


def test_metrics_are_read_from_this_machine_or_with_the_metrics_token(
    config: Config, client: FlaskClient, tokens: dict[str, str]
) -> None:
    # No token configured: the machine itself only, whoever signs in from elsewhere.
    far = {"REMOTE_ADDR": "192.0.2.10"}
    refused = client.get("/metrics", environ_base=far)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    assert client.get("/metrics", environ_base=far, headers=admin).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    # A token configured: that token only, from anywhere.
    scraped = config.model_copy(
        update={"server": config.server.model_copy(update={"metrics_token": "scrape-me-7"})}
    )
    scraper = service_app(scraped).test_client()
    assert scraper.get("/metrics").status_code == 403
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    answer = scraper.get(
        "/metrics", environ_base=far, headers={"Authorization": "Bearer scrape-me-7"}
    )
    assert answer.status_code == 200 and "warehouse_orders" in answer.text

"""Signed webhook deliveries: HMAC-SHA256 over timestamp and raw body, five minutes' grace."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import ApiClient, order_body, ref, stock_of, stocked_product
from warehouse.channels import webhook_signature


@pytest.fixture
def hook(api: ApiClient) -> tuple[str, str]:
    code = ref("hook").lower()
    response = api.put(f"/api/channels/{code}", {"name": "Marketplace"})
    return code, response.json["webhook_secret"]


def deliver(
    client: FlaskClient,
    code: str,
    body: bytes,
    secret: str,
    at: float | None = None,
    **headers: str,
) -> TestResponse:
    timestamp = str(int(time.time() if at is None else at))
    signed = {
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": webhook_signature(secret, timestamp, body),
        **headers,
    }
    return client.post(
        f"/api/channels/{code}/webhook", data=body, content_type="application/json", headers=signed
    )


def as_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_a_signed_delivery_is_taken_once(
    api: ApiClient, client: FlaskClient, hook: tuple[str, str]
) -> None:
    code, secret = hook
    sku = stocked_product(api, 5)
    body = as_bytes(order_body({sku: 2}))
    first = deliver(client, code, body, secret)
    assert first.status_code == 201, first.json
    assert first.json["status"] == "reserved"
    replay = deliver(client, code, body, secret)
    assert replay.status_code == 200 and replay.json["id"] == first.json["id"]
    assert stock_of(api, sku)["reserved"] == 2


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ({"secret": "whsec_wrong"}, "bad_signature"),
        ({"offset": -301}, "stale_signature"),
        ({"offset": 400}, "stale_signature"),
        ({"X-Webhook-Signature": "sha256=" + "0" * 64}, "bad_signature"),
        ({"X-Webhook-Signature": ""}, "bad_signature"),
        ({"X-Webhook-Timestamp": "yesterday"}, "bad_signature"),
    ],
)
def test_a_badly_signed_delivery_changes_nothing(
    api: ApiClient, client: FlaskClient, hook: tuple[str, str], tamper: dict[str, Any], code: str
) -> None:
    channel_code, secret = hook
    sku = stocked_product(api, 5)
    order = order_body({sku: 2})
    tamper = dict(tamper)  # the parameters are shared with the PostgreSQL run
    secret = tamper.pop("secret", secret)
    offset = tamper.pop("offset", None)
    at = None if offset is None else time.time() + offset
    response = deliver(client, channel_code, as_bytes(order), secret, at, **tamper)
    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert stock_of(api, sku)["reserved"] == 0
    # The order was not stored: the same external id, properly signed, is new.
    assert deliver(client, channel_code, as_bytes(order), hook[1]).status_code == 201


def test_a_body_changed_after_signing_is_refused(
    api: ApiClient, client: FlaskClient, hook: tuple[str, str]
) -> None:
    code, secret = hook
    sku = stocked_product(api, 5)
    body = as_bytes(order_body({sku: 2}))
    timestamp = str(int(time.time()))
    response = client.post(
        f"/api/channels/{code}/webhook",
        data=body.replace(b'"qty": 2', b'"qty": 5'),
        content_type="application/json",
        headers={
            "X-Webhook-Timestamp": timestamp,
            "X-Webhook-Signature": webhook_signature(secret, timestamp, body),
        },
    )
    assert response.status_code == 401
    assert stock_of(api, sku)["reserved"] == 0


def test_a_signed_but_bad_order_is_422(client: FlaskClient, hook: tuple[str, str]) -> None:
    code, secret = hook
    response = deliver(client, code, as_bytes({"external_id": "x", "lines": []}), secret)
    assert response.status_code == 422
    assert response.json["error"]["field"] in ("lines", "ship_to")


def test_a_rotated_secret_retires_the_old_one(
    api: ApiClient, client: FlaskClient, hook: tuple[str, str]
) -> None:
    code, old = hook
    new = api.post(f"/api/channels/{code}/webhook-secret").json["webhook_secret"]
    assert new != old
    sku = stocked_product(api, 5)
    assert deliver(client, code, as_bytes(order_body({sku: 1})), old).status_code == 401
    assert deliver(client, code, as_bytes(order_body({sku: 1})), new).status_code == 201


def test_a_delivery_for_an_unknown_channel_is_404(client: FlaskClient) -> None:
    response = deliver(client, "no-such-channel", b"{}", "whsec_x")
    assert response.status_code == 404

"""Channels and orders: intake by API and signed webhook, the order list, cancel, available-to-sell
feeds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import Response, jsonify, request, stream_with_context
from flask_smorest import Blueprint

from warehouse import channels, cursors, limits, order_list, orders
from warehouse.api.queries import Query
from warehouse.documents import OrderOut
from warehouse.models import Channel, Order, OrderStatus
from warehouse.order_input import OrderIn, OrderInput
from warehouse.web import (
    config,
    db,
    idempotent,
    requires,
    served_channels,
    service_address,
    signed_webhook,
)

blp = Blueprint("orders", __name__, url_prefix="/api", description="Channels and orders")

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"


class ChannelIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    priority = ma.fields.Integer(
        strict=True,
        load_default=100,
        validate=ma.validate.Range(0, limits.MAX_PRIORITY),
        metadata={"description": "lower is served first"},
    )
    buffer = limits.units(0, load_default=0)
    share = ma.fields.Decimal(
        load_default=Decimal(1),
        validate=ma.validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"minimum": 0, "exclusiveMinimum": True, "maximum": 1},
    )
    ship_partial = ma.fields.Boolean(
        truthy={True},
        falsy={False},
        load_default=False,
        metadata={
            "description": "an order may ship what was found and send the rest later, as its "
            "own shipment; otherwise it waits until all of it is there"
        },
    )
    handling_hours = ma.fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(0, limits.MAX_HANDLING_HOURS),
        metadata={
            "description": "an order that comes without ship_by must ship this many hours "
            f"after it was received (0 to {limits.MAX_HANDLING_HOURS}); null: no ship-by"
        },
    )
    fee_percent = limits.cents(
        limits.MAX_FEE_PERCENT,
        load_default=Decimal(0),
        metadata={"description": "what the channel keeps of revenue, in percent"},
    )
    fee_fixed = limits.cents(
        limits.MAX_FEE_FIXED,
        load_default=Decimal(0),
        metadata={"description": "what the channel charges per shipped order"},
    )
    events_url = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=limits.MAX_URL),
        metadata={
            "format": "uri",
            "description": "where the channel's events are POSTed, signed: http or https, "
            "without a user name or password, and not this service itself (422 "
            "`events_url_is_this_service`); null or empty: the channel pulls its events",
        },
    )


class ChannelOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    priority = ma.fields.Integer()
    buffer = ma.fields.Integer()
    share = ma.fields.Float()
    ship_partial = ma.fields.Boolean()
    handling_hours = ma.fields.Integer(allow_none=True)
    fee_percent = ma.fields.Float()
    fee_fixed = ma.fields.Float()
    events_url = ma.fields.String(allow_none=True)


class NewChannelOut(ChannelOut):
    webhook_secret = ma.fields.String(
        metadata={"description": "signs webhook deliveries; shown when the channel is created"}
    )


class ChannelsOut(ma.Schema):
    channels = ma.fields.List(ma.fields.Nested(ChannelOut))


class InventoryItem(ma.Schema):
    sku = ma.fields.String()
    available = ma.fields.Integer()


class InventoryOut(ma.Schema):
    channel = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(InventoryItem))


class Statuses(ma.fields.List):
    """Order statuses, the parameter repeated (`status=a&status=b`) or comma-separated
    (`status=a,b`)."""

    def __init__(self, **kwargs: Any):
        item = ma.fields.String(validate=ma.validate.OneOf(list(OrderStatus)))
        kwargs["metadata"] = {"maxItems": len(OrderStatus), **kwargs.get("metadata", {})}
        super().__init__(item, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(each, str) for each in values):
            raise self.make_error("invalid")
        split = {part.strip() for each in values for part in each.split(",") if part.strip()}
        unknown = sorted(split - set(OrderStatus))
        if unknown:
            # Named by value: its place in a comma-separated list is not the client's index.
            raise ma.ValidationError(
                f"{unknown[0]!r} is not an order status: one of {', '.join(OrderStatus)}"
            )
        return super()._deserialize(sorted(split), attr, data, **kwargs)


class OrderListQuery(Query):
    channel = ma.fields.String(
        validate=ma.validate.Length(1, 32),
        metadata={
            "description": "a channel's code: only its orders (unknown: 404 unknown_channel)"
        },
    )
    status = Statuses(
        metadata={
            "description": "only orders in one of these statuses: the parameter repeated, or "
            "the statuses comma-separated"
        }
    )
    updated_since = limits.Moment(
        metadata={
            "description": "only orders whose `updated_at` is at or after this time (ISO 8601 "
            f"with an offset, such as 2025-03-01T08:00:00Z, from {limits.EARLIEST} to "
            f"{limits.LATEST}); to pick up changes, send the time of the last poll's start "
            "less a few seconds, as a change is stamped just before it commits"
        }
    )
    cursor = ma.fields.String(
        metadata={
            "maxLength": cursors.MAX_LENGTH,
            "description": "the next_cursor of the page before, with the same channel, status "
            "and updated_since (other filters: 422 bad_cursor); left out: the first page",
        },
    )
    limit = ma.fields.Integer(
        load_default=order_list.DEFAULT_PAGE,
        validate=ma.validate.Range(1, order_list.MAX_PAGE),
        metadata={"description": "orders at most on this page"},
    )


class OrderPageOut(ma.Schema):
    orders = ma.fields.List(ma.fields.Nested(OrderOut))
    next_cursor = ma.fields.String(
        allow_none=True,
        metadata={"description": "the cursor of the next page; null on the last page"},
    )


class FeedQuery(ma.Schema):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))


@blp.route("/channels", methods=["GET"])
@blp.response(200, ChannelsOut)
@requires("channels.read")
def list_channels() -> dict[str, list[Channel]]:
    """Every channel with its settings, served first first (an integration token: its own)."""
    served = served_channels()
    return {"channels": [c for c in channels.list_channels(db()) if channels.serves(served, c.id)]}


@blp.route("/channels/<code>", methods=["GET"])
@blp.response(200, ChannelOut)
@requires("channels.read")
def get_channel(code: str) -> Channel:
    """A channel with its settings (never its secret)."""
    return channels.get_channel(db(), code, served_channels())


@blp.route("/channels/<code>", methods=["PUT"])
@blp.arguments(ChannelIn)
@blp.response(200, ChannelOut, description="updated")
@blp.alt_response(201, schema=NewChannelOut, description="created, with its webhook secret")
@blp.doc(
    description=(
        "Every setting is set by each PUT: a field left out takes its default (priority 100, "
        "buffer 0, share 1, ship_partial false, handling_hours, events_url null, fees 0), "
        "so send the whole channel, as GET /api/channels/{code} shows it, to change one "
        "setting. An events URL set where there was none pushes the events written from "
        "then on, while those written before stay to be pulled; cleared (null, empty or "
        "left out), the events still waiting to be pushed are kept to be pulled, in order."
    )
)
@requires("channels.write")
def put_channel(body: dict[str, Any], code: str) -> Channel | tuple[Response, int]:
    """Create or update a sales channel; a new one comes with its webhook secret."""
    channel, created = channels.put_channel(db(), code, **body, home=service_address())
    if created:
        # A Response passes the 200 schema untouched, so the secret is shown this once.
        return jsonify(NewChannelOut().dump(channel)), 201
    return channel


@blp.route("/channels/<code>/webhook-secret", methods=["POST"])
@blp.response(200, NewChannelOut)
@requires("channels.write")
def rotate_secret(code: str) -> Channel:
    """Give the channel a new webhook secret (the old one stops working at once)."""
    return channels.rotate_webhook_secret(db(), code)


@blp.route("/channels/<code>/orders", methods=["POST"])
@blp.arguments(OrderIn)
@blp.response(201, OrderOut, description="stored and reserved")
@blp.alt_response(200, schema=OrderOut, description="the same order again: nothing changed")
@requires("orders.create")
@idempotent
def post_order(order: OrderInput, code: str) -> tuple[Order, int]:
    """Take a channel order and reserve its lines at once; idempotent on (channel, external_id)."""
    row, created = orders.take_order(
        db(), code, order, config().orders.max_lines, served_channels()
    )
    return row, 201 if created else 200


@blp.route("/channels/<code>/webhook", methods=["POST"])
@blp.doc(
    description=(
        f"The order JSON of POST /api/channels/{{code}}/orders, signed by the channel: "
        f"{TIMESTAMP_HEADER} is the Unix time in seconds, {SIGNATURE_HEADER} is "
        "`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>` keyed with the "
        "channel's webhook secret. Deliveries more than 5 minutes off are refused; a "
        "replayed delivery is applied once."
    ),
    requestBody={"content": {"application/json": {"schema": "OrderIn"}}},
    security=[],
)
@blp.response(201, OrderOut, description="stored and reserved")
@blp.alt_response(200, schema=OrderOut, description="the same order again: nothing changed")
@signed_webhook
def post_webhook(code: str) -> tuple[Order, int]:
    """A channel's signed order delivery."""
    body = request.get_data(cache=True)
    channels.verify_webhook(
        db(),
        code,
        request.headers.get(TIMESTAMP_HEADER, ""),
        request.headers.get(SIGNATURE_HEADER, ""),
        body,
        time.time(),
    )
    order = OrderIn().load(request.get_json(force=True))
    row, created = orders.take_order(db(), code, order, config().orders.max_lines)
    return row, 201 if created else 200


@blp.route("/orders", methods=["GET"])
@blp.arguments(OrderListQuery, location="query")
@blp.doc(
    description=(
        "Orders in id order, a page at a time: send each answer's next_cursor as `cursor` "
        "for the next page, with the same filters, until it is null. Paging is stable while "
        "orders change: an order keeps its place, so each order matching the filters "
        "throughout is on exactly one page, and orders taken meanwhile come at the end. An "
        "integration token bound to channels lists only their orders."
    )
)
@blp.response(200, OrderPageOut)
@requires("orders.read")
def list_orders(query: dict[str, Any]) -> order_list.OrderPage:
    """Orders by channel, status and time of last change, paged by cursor."""
    return order_list.list_orders(
        db(),
        channel_code=query.get("channel"),
        statuses=query.get("status", ()),
        updated_since=query.get("updated_since"),
        cursor=query.get("cursor"),
        limit=query["limit"],
        served=served_channels(),
    )


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.response(200, OrderOut)
@requires("orders.read")
def get_order(order_id: int) -> Order:
    """The order, with what each line holds (an integration token: its channels' orders)."""
    return orders.get_order(db(), order_id, served_channels())


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@blp.response(200, OrderOut)
@requires("orders.cancel")
@idempotent
def cancel_order(order_id: int) -> Order:
    """Cancel the order and release what it reserved (409 already_shipped once shipped)."""
    return orders.cancel_order(db(), order_id, served_channels())


@blp.route("/channels/<code>/inventory", methods=["GET"])
@blp.arguments(FeedQuery, location="query")
@blp.response(200, InventoryOut)
@requires("channels.feed")
def get_inventory(query: dict[str, str], code: str) -> Response | dict[str, Any]:
    """Units the channel may still sell, per SKU; ?format=csv for `sku,available` CSV."""
    items = channels.available_to_sell(db(), code, served_channels())
    if query["format"] == "csv":
        first = next(items, None)  # an unknown channel fails here, before the stream starts

        def rows() -> Iterator[str]:
            yield "sku,available\r\n"
            if first is not None:
                yield f"{first[0]},{first[1]}\r\n"
            for sku, available in items:
                yield f"{sku},{available}\r\n"

        return Response(stream_with_context(rows()), mimetype="text/csv")
    return {"channel": code, "items": [{"sku": sku, "available": n} for sku, n in items]}

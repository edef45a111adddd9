"""What an order looks like to a channel: the same in the API's answers and in the events
the channel is told (so an event's order is the order the API would show at that moment)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from warehouse.models import Order, OrderStatus, ShipmentStatus


class Whole(ma.fields.Nested):
    """A nested object made of fields the model keeps flat (an order's ship_to)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        return obj


class LineOut(ma.Schema):
    sku = ma.fields.String(attribute="product.sku")
    qty = ma.fields.Integer()
    reserved = ma.fields.Integer(metadata={"description": "held for it and not shipped yet"})
    backordered = ma.fields.Integer(attribute="waiting")
    shipped = ma.fields.Integer()
    cancelled = ma.fields.Integer(metadata={"description": "units that will never ship"})
    unit_price = ma.fields.Float(allow_none=True)


class ShipToOut(ma.Schema):
    name = ma.fields.String(attribute="ship_name")
    street1 = ma.fields.String(attribute="ship_street1")
    street2 = ma.fields.String(attribute="ship_street2")
    city = ma.fields.String(attribute="ship_city")
    region = ma.fields.String(attribute="ship_region")
    postal_code = ma.fields.String(attribute="ship_postal_code")
    country = ma.fields.String(attribute="ship_country")


class ShipmentCartonBrief(ma.Schema):
    number = ma.fields.Integer()
    sscc = ma.fields.String(allow_none=True)
    carrier = ma.fields.String(allow_none=True)
    service = ma.fields.String(allow_none=True)
    tracking = ma.fields.String(allow_none=True)
    weight_g = ma.fields.Integer(allow_none=True)


class ShipmentBrief(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "GET /api/shipments/{id} shows it whole"})
    number = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": list(ShipmentStatus)})
    shipped_at = ma.fields.DateTime(allow_none=True)
    cartons = ma.fields.List(ma.fields.Nested(ShipmentCartonBrief))


class OrderOut(ma.Schema):
    id = ma.fields.Integer()
    channel = ma.fields.String(attribute="channel.code")
    external_id = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(OrderStatus)})
    lines = ma.fields.List(ma.fields.Nested(LineOut))
    ship_to = Whole(ShipToOut)
    ship_by = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime(
        metadata={"description": "when the order or its lines last changed"}
    )
    shipments = ma.fields.List(
        ma.fields.Nested(ShipmentBrief),
        metadata={"description": "one, or on a channel that ships partly, one per part"},
    )


def order_document(order: Order) -> dict[str, Any]:
    """The order as JSON-ready data, as GET /api/orders/{id} answers it."""
    return dict(OrderOut().dump(order))

"""Pick lists: one order or a batch of orders, bins held, stops in walking order."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import picking
from warehouse.models import PickList
from warehouse.web import config, db, requires

blp = Blueprint("picking", __name__, url_prefix="/api/pick-lists", description="Pick lists")


class PickListIn(ma.Schema):
    orders = ma.fields.List(
        ma.fields.Integer(strict=True),
        required=True,
        validate=ma.validate.Length(1, picking.MAX_BATCH),
        metadata={"description": "order ids; a batch puts each in its own tote"},
    )


class PickOut(ma.Schema):
    seq = ma.fields.Integer(metadata={"description": "place in walking order"})
    location = ma.fields.Function(lambda pick: pick.stock.location.code)
    sku = ma.fields.Function(lambda pick: pick.order_line.product.sku)
    lot = ma.fields.Function(lambda pick: pick.stock.lot)
    expiry = ma.fields.Function(lambda pick: pick.stock.expiry, allow_none=True)
    qty = ma.fields.Integer()
    picked = ma.fields.Integer()
    order = ma.fields.Function(lambda pick: pick.order_line.order_id)
    status = ma.fields.String()


class SlotOut(ma.Schema):
    slot = ma.fields.Integer()
    order = ma.fields.Integer(attribute="order_id")
    tote = ma.fields.String(allow_none=True)


class PickListOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    status = ma.fields.String()
    picker = ma.fields.Function(lambda p: p.picker.name if p.picker else None)
    route_m = ma.fields.Float(metadata={"description": "walking distance, depot to depot"})
    route_method = ma.fields.String(metadata={"description": "exact or s-shape"})
    orders = ma.fields.List(ma.fields.Nested(SlotOut))
    picks = ma.fields.List(ma.fields.Nested(PickOut))


@blp.route("", methods=["POST"])
@requires("picking.plan")
@blp.arguments(PickListIn)
@blp.response(201, PickListOut)
def create(body: dict[str, Any]) -> PickList:
    """A pick list for the orders (fully reserved ones), with bins held and the route."""
    made = picking.create_pick_list(db(), body["orders"], config().layout)
    return picking.get_pick_list(db(), made.id)


@blp.route("/<int:pick_list_id>")
@requires("picking.read")
@blp.response(200, PickListOut)
def show(pick_list_id: int) -> PickList:
    """A pick list: its orders and totes, and its picks in walking order."""
    return picking.get_pick_list(db(), pick_list_id)

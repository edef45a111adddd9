"""Pick lists: one order or a batch of orders, bins held, stops in walking order."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import limits, pick_lists, picking, waves
from warehouse.models import (
    ACTIVE_PICK_LISTS,
    PICK_LIST_KINDS,
    PickList,
    PickListStatus,
    PickStatus,
    User,
)
from warehouse.web import config, current_user, db, idempotent, requires

blp = Blueprint("picking", __name__, url_prefix="/api/pick-lists", description="Pick lists")


class PickListIn(ma.Schema):
    orders = limits.Items(
        limits.row_id(),
        pick_lists.MAX_BATCH,
        required=True,
        validate=ma.validate.Length(1, pick_lists.MAX_BATCH),
        metadata={"description": "order ids; a batch puts each in its own tote"},
    )


class PickOut(ma.Schema):
    id = ma.fields.Integer()
    seq = ma.fields.Integer(metadata={"description": "place in walking order"})
    location = ma.fields.String(attribute="stock.location.code")
    sku = ma.fields.String(attribute="order_line.product.sku")
    lot = ma.fields.String(attribute="stock.lot")
    expiry = ma.fields.Date(attribute="stock.expiry", allow_none=True)
    qty = ma.fields.Integer()
    picked = ma.fields.Integer()
    order = ma.fields.Integer(attribute="order_line.order_id")
    status = ma.fields.String(metadata={"enum": list(PickStatus)})


class SlotOut(ma.Schema):
    slot = ma.fields.Integer()
    order = ma.fields.Integer(attribute="order_id")
    tote = ma.fields.String(allow_none=True)


class PickListOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": list(PICK_LIST_KINDS)})
    status = ma.fields.String(metadata={"enum": list(PickListStatus)})
    picker = ma.fields.Function(
        lambda p: p.picker.name if p.picker else None,
        metadata={"type": "string", "nullable": True, "description": "who holds it"},
    )
    route_m = ma.fields.Float(metadata={"description": "walking distance, depot to depot"})
    route_method = ma.fields.String(metadata={"description": "exact or s-shape"})
    orders = ma.fields.List(ma.fields.Nested(SlotOut))
    picks = ma.fields.List(ma.fields.Nested(PickOut))
    progress = ma.fields.Function(
        lambda p: {"picked": sum(x.picked for x in p.picks), "units": sum(x.qty for x in p.picks)},
        metadata={
            "type": "object",
            "properties": {"picked": {"type": "integer"}, "units": {"type": "integer"}},
        },
    )


@blp.route("", methods=["POST"])
@requires("picking.plan")
@idempotent
@blp.arguments(PickListIn)
@blp.response(201, PickListOut)
def create(body: dict[str, Any]) -> PickList:
    """A pick list for the orders (fully reserved ones), with bins held and the route."""
    made = pick_lists.create_pick_list(db(), body["orders"], config().layout)
    return pick_lists.get_pick_list(db(), made.id)


@blp.route("/<int:pick_list_id>")
@requires("picking.read")
@blp.response(200, PickListOut)
def show(pick_list_id: int) -> PickList:
    """A pick list: its orders and totes, and its picks in walking order."""
    return pick_lists.get_pick_list(db(), pick_list_id)


class ToteIn(ma.Schema):
    tote = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))


class ConfirmIn(ma.Schema):
    location = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))
    sku = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    qty = limits.units(required=True)
    tote = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))


class ShortIn(ma.Schema):
    found = limits.units(0, required=True)
    tote = ma.fields.String(load_default="", validate=ma.validate.Length(0, 32))


class ListQuery(ma.Schema):
    status = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(tuple(PickListStatus))),
        load_default=list(ACTIVE_PICK_LISTS),
    )


class PickListsOut(ma.Schema):
    pick_lists = ma.fields.List(ma.fields.Nested(PickListOut))


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


@blp.route("")
@requires("picking.read")
@blp.arguments(ListQuery, location="query")
@blp.response(200, PickListsOut)
def list_open(query: dict[str, Any]) -> dict[str, Any]:
    """Pick lists by status (open and picking by default), with who holds them."""
    return {"pick_lists": pick_lists.find_pick_lists(db(), query["status"])}


@blp.route("/<int:pick_list_id>/start", methods=["POST"])
@requires("picking.pick")
@idempotent
@blp.response(200, PickListOut)
def start(pick_list_id: int) -> PickList:
    """Take an open list, or go on with one's own; another's list is a 409."""
    picking.start_pick_list(db(), pick_list_id, _me())
    return pick_lists.get_pick_list(db(), pick_list_id)


@blp.route("/<int:pick_list_id>/totes/<int:slot>", methods=["PUT"])
@requires("picking.pick")
@blp.arguments(ToteIn)
@blp.response(200, PickListOut)
def put_tote(body: dict[str, Any], pick_list_id: int, slot: int) -> PickList:
    """Put a tote in a cart slot (the order of that slot is picked into it)."""
    picking.set_tote(db(), pick_list_id, _me(), slot, body["tote"])
    return pick_lists.get_pick_list(db(), pick_list_id)


@blp.route("/<int:pick_list_id>/picks/<int:pick_id>/confirm", methods=["POST"])
@requires("picking.pick")
@idempotent
@blp.arguments(ConfirmIn)
@blp.response(200, PickListOut)
def confirm(body: dict[str, Any], pick_list_id: int, pick_id: int) -> PickList:
    """Book a pick whose bin, item and tote were scanned; a mismatch is a 422."""
    picking.confirm_pick(db(), _me(), pick_list_id, pick_id, **body)
    return pick_lists.get_pick_list(db(), pick_list_id)


@blp.route("/<int:pick_list_id>/picks/<int:pick_id>/short", methods=["POST"])
@requires("picking.pick")
@idempotent
@blp.arguments(ShortIn)
@blp.response(200, PickListOut)
def short(body: dict[str, Any], pick_list_id: int, pick_id: int) -> PickList:
    """Fewer units in the bin than the pick needs: pick those, count the bin, pick the
    rest elsewhere."""
    picking.short_pick(db(), _me(), pick_list_id, pick_id, found=body["found"], tote=body["tote"])
    return pick_lists.get_pick_list(db(), pick_list_id)


@blp.route("/<int:pick_list_id>/release", methods=["POST"])
@requires("picking.plan")
@idempotent
@blp.response(200, PickListOut)
def release(pick_list_id: int) -> PickList:
    """End an abandoned list: its unpicked units are free again."""
    picking.release_pick_list(db(), pick_list_id)
    return pick_lists.get_pick_list(db(), pick_list_id)


class WaveIn(ma.Schema):
    channel = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 32))
    ship_by_before = limits.Moment(load_default=None, default_timezone=UTC)
    max_orders = ma.fields.Integer(
        load_default=None, strict=True, validate=ma.validate.Range(1, limits.MAX_ID)
    )
    max_lines = ma.fields.Integer(
        load_default=None, strict=True, validate=ma.validate.Range(1, limits.MAX_ID)
    )
    cart_size = ma.fields.Integer(
        load_default=8, strict=True, validate=ma.validate.Range(min=1, max=pick_lists.MAX_BATCH)
    )


class SkippedOut(ma.Schema):
    order = ma.fields.Integer()
    reason = ma.fields.String()


class WaveOut(ma.Schema):
    pick_lists = ma.fields.List(ma.fields.Nested(PickListOut))
    skipped = ma.fields.List(ma.fields.Nested(SkippedOut))


@blp.route("/waves", methods=["POST"])
@requires("picking.plan")
@idempotent
@blp.arguments(WaveIn)
@blp.response(201, WaveOut)
def wave(body: dict[str, Any]) -> dict[str, Any]:
    """Pick lists for the reserved orders the filters choose (most urgent first), grouped
    cart by cart into short routes; orders that cannot be picked now are listed as skipped."""
    cart_size = body.pop("cart_size")
    made = waves.create_wave(db(), waves.WaveFilter(**body), config().layout, cart_size)
    return {
        "pick_lists": [pick_lists.get_pick_list(db(), p.id) for p in made.pick_lists],
        "skipped": [{"order": order, "reason": reason} for order, reason in made.skipped],
    }

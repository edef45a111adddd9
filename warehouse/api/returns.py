"""Returns: an item of a shipped order booked back at a bin or at quarantine."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import limits, returns
from warehouse.web import config, current_user, db, idempotent, requires

blp = Blueprint("returns", __name__, url_prefix="/api/returns", description="Returned items")


class ReturnIn(ma.Schema):
    order_id = limits.row_id(required=True)
    sku = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    qty = limits.units(required=True)
    location = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(1, 32),
        metadata={"description": "the bin to put it back to stock; quarantine when left out"},
    )
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(0, returns.MAX_REASON))


class ReturnOut(ma.Schema):
    order_id = ma.fields.Integer()
    sku = ma.fields.String()
    qty = ma.fields.Integer()
    location = ma.fields.String(metadata={"description": "where the units went"})
    movement_id = ma.fields.Integer(metadata={"description": "the ledger movement"})


@blp.route("", methods=["POST"])
@blp.arguments(ReturnIn)
@blp.response(201, ReturnOut)
@requires("returns.receive")
@idempotent
def post_return(body: dict[str, Any]) -> dict[str, Any]:
    """Book a returned item of a shipped order back on hand."""
    movement = returns.return_item(
        db(),
        current_user(),
        body["order_id"],
        body["sku"],
        body["qty"],
        body["location"],
        config().returns.quarantine,
        body["reason"],
    )
    return {
        "order_id": body["order_id"],
        "sku": movement.product.sku,
        "qty": movement.qty,
        "location": movement.location.code,
        "movement_id": movement.id,
    }

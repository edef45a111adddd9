"""Stock: receipts, counts, moves, the stock of a SKU and its ledger."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask_smorest import Blueprint

from warehouse import counting, inventory, limits, stock
from warehouse.models import CountReview, CountReviewStatus, Movement
from warehouse.roles import allowed
from warehouse.web import config, current_user, db, idempotent, requires

blp = Blueprint("stock", __name__, url_prefix="/api/stock", description="Stock and its ledger")

Qty = limits.units(required=True)
Sku = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
Code = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))
Lot = ma.fields.String(validate=ma.validate.Length(0, 40))
Reference = ma.fields.String(load_default="", validate=ma.validate.Length(0, 100))


class ReceiptIn(ma.Schema):
    sku = Sku
    location = Code
    qty = Qty
    lot = ma.fields.String(load_default="", validate=ma.validate.Length(0, 40))
    expiry = limits.Day(allow_none=True, load_default=None)
    reference = Reference


class CountIn(ma.Schema):
    sku = Sku
    location = Code
    counted = limits.units(0, required=True)
    lot = Lot
    reference = Reference


class MoveIn(ma.Schema):
    sku = Sku
    source = ma.fields.String(required=True, data_key="from", validate=ma.validate.Length(1, 32))
    target = ma.fields.String(required=True, data_key="to", validate=ma.validate.Length(1, 32))
    qty = Qty
    lot = Lot
    reference = Reference


class MovementOut(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    kind = ma.fields.String()
    sku = ma.fields.String(attribute="product.sku")
    location = ma.fields.String(attribute="location.code")
    lot = ma.fields.String()
    expiry = ma.fields.Date(allow_none=True)
    qty = ma.fields.Integer(metadata={"description": "signed change of units on hand"})
    user = ma.fields.Function(
        lambda m: m.user.name if m.user else None, metadata={"type": "string", "nullable": True}
    )
    reason = ma.fields.String()
    reference = ma.fields.String()


class MovesOut(ma.Schema):
    moves = ma.fields.List(ma.fields.Nested(MovementOut))


class LocationStockOut(ma.Schema):
    location = ma.fields.String()
    on_hand = ma.fields.Integer()


class StockOut(ma.Schema):
    sku = ma.fields.String()
    on_hand = ma.fields.Integer()
    unsellable = ma.fields.Integer(
        metadata={"description": "of on_hand, the units in locations not sellable (quarantine)"}
    )
    reserved = ma.fields.Integer()
    available = ma.fields.Integer(metadata={"description": "on_hand - unsellable - reserved"})
    locations = ma.fields.List(ma.fields.Nested(LocationStockOut))


class LedgerQuery(ma.Schema):
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 1000))


@blp.route("/receipts", methods=["POST"])
@blp.arguments(ReceiptIn)
@blp.response(201, MovementOut)
@requires("stock.receive")
@idempotent
def post_receipt(body: dict[str, Any]) -> Movement:
    """Book received units at a location."""
    return inventory.receive(db(), current_user(), **body, most=config().receiving.max_units)


class CountReviewOut(ma.Schema):
    id = ma.fields.Integer()
    sku = ma.fields.String(attribute="product.sku")
    location = ma.fields.String(attribute="location.code")
    lot = ma.fields.String()
    counted = ma.fields.Integer()
    on_books = ma.fields.Integer(metadata={"description": "what the books said then"})
    difference = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": list(CountReviewStatus)})
    counted_at = ma.fields.DateTime()


class CountReviewsOut(ma.Schema):
    reviews = ma.fields.List(ma.fields.Nested(CountReviewOut))


@blp.route("/counts", methods=["POST"])
@blp.arguments(CountIn)
@blp.response(201, MovementOut, description="booked: the difference is an adjustment movement")
@blp.alt_response(
    202,
    schema=CountReviewOut,
    description="a difference beyond config.toml's [counting] threshold, counted by someone "
    "who is not a supervisor: nothing is booked until a second count agrees or a "
    "supervisor approves it",
)
@requires("stock.count")
@idempotent
def post_count(body: dict[str, Any]) -> Movement | tuple[Response, int]:
    """Book a count; the difference to the books is an adjustment movement."""
    counted = counting.count_item(
        db(), current_user(), body["sku"], body["location"], body["counted"], config().counting,
        lot=body.get("lot"), reference=body["reference"], most=config().receiving.max_units,
    )  # fmt: skip
    if counted.movement is None:
        return jsonify(CountReviewOut().dump(counted.review)), 202
    return counted.movement


@blp.route("/count-reviews")
@blp.response(200, CountReviewsOut)
@requires("counts.approve")
def count_reviews() -> dict[str, Any]:
    """Counts waiting for a second count or a supervisor, oldest first."""
    return {"reviews": counting.pending_reviews(db())}


@blp.route("/count-reviews/<int:review_id>/approve", methods=["POST"])
@blp.response(200, CountReviewOut)
@requires("counts.approve")
@idempotent
def approve_count(review_id: int) -> CountReview:
    """Book a count in review: its difference to the books of then, booked now."""
    user = current_user()
    assert user is not None
    counted = counting.approve(db(), user, review_id, most=config().receiving.max_units)
    assert counted.review is not None
    return counted.review


@blp.route("/count-reviews/<int:review_id>/reject", methods=["POST"])
@blp.response(200, CountReviewOut)
@requires("counts.approve")
@idempotent
def reject_count(review_id: int) -> CountReview:
    """Turn a count in review down: the books stay as they are."""
    user = current_user()
    assert user is not None
    return counting.reject(db(), user, review_id)


@blp.route("/moves", methods=["POST"])
@blp.arguments(MoveIn)
@blp.response(201, MovesOut)
@requires("stock.move")
@idempotent
def post_move(body: dict[str, Any]) -> dict[str, Any]:
    """Move units from one location to another (pickers: between pickable bins only)."""
    user = current_user()
    anywhere = user is not None and allowed(user.role, "stock.move_anywhere")
    return {"moves": inventory.move(db(), current_user(), **body, anywhere=anywhere)}


@blp.route("/<sku>", methods=["GET"])
@blp.response(200, StockOut)
@requires("stock.read")
def get_stock(sku: str) -> stock.StockSummary:
    """On hand, not for sale (unsellable), reserved, available and per-location units of a SKU."""
    return stock.stock_summary(db(), sku)


@blp.route("/<sku>/movements", methods=["GET"])
@blp.arguments(LedgerQuery, location="query")
@blp.response(200, MovementOut(many=True))
@requires("stock.ledger")
def get_movements(query: dict[str, Any], sku: str) -> list[Movement]:
    """The newest ledger movements of a SKU, newest first."""
    return stock.ledger(db(), sku, query["limit"])

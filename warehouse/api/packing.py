"""Packing for programs (a pack station's own software, pack automation): cartons opened,
scanned units packed into them, cartons weighed and closed; the same rules as the pack page."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import packing, scanning, stations
from warehouse.models import Carton, CartonStatus
from warehouse.web import config, current_user, db, idempotent, requires, transaction

blp = Blueprint("packing", __name__, url_prefix="/api/orders", description="Packing")


class CartonIn(ma.Schema):
    box = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 64),
        metadata={"description": "a box type of config.toml's [boxes]"},
    )


class CartonItemOut(ma.Schema):
    sku = ma.fields.String(attribute="order_line.product.sku")
    qty = ma.fields.Integer()


class CartonOut(ma.Schema):
    number = ma.fields.Integer(metadata={"description": "numbered through the order"})
    box = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(CartonStatus)})
    weight_g = ma.fields.Integer(allow_none=True)
    expected_g = ma.fields.Integer(
        allow_none=True, metadata={"description": "what its items and box should weigh"}
    )
    items = ma.fields.List(ma.fields.Nested(CartonItemOut))


class PackScanIn(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, scanning.RAW_KEPT),
        metadata={"description": "the raw scan"},
    )
    scan_id = ma.fields.String(
        load_default=None,
        metadata={
            "description": "the client's id for the scan: sent again, the scan is applied once "
            "and answered as the first time"
        },
    )
    qty = ma.fields.Integer(
        load_default=1,
        strict=True,
        validate=ma.validate.Range(1, packing.MAX_UNITS_AT_ONCE),
        metadata={"description": "how many of what the code names (a case code names its units)"},
    )


class PackScanOut(ma.Schema):
    sku = ma.fields.String()
    units = ma.fields.Integer(metadata={"description": "units packed by this scan"})
    carton = ma.fields.Integer(metadata={"description": "the carton's number"})


class CloseIn(ma.Schema):
    weight_g = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(1, 1_000_000)
    )
    station = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(1, 64),
        metadata={
            "description": "the station whose printer prints the labels; without one, they "
            "wait as PDFs for a browser printer"
        },
    )


@blp.route("/<int:order_id>/cartons", methods=["POST"])
@blp.arguments(CartonIn)
@blp.response(201, CartonOut)
@requires("packing.pack")
@idempotent
def open_carton(body: dict[str, Any], order_id: int) -> Carton:
    """Open a carton for a picked order (409 while another of its cartons is open)."""
    return packing.open_carton(db(), order_id, body["box"], config().boxes)


@blp.route("/<int:order_id>/cartons/<int:number>/scans", methods=["POST"])
@blp.arguments(PackScanIn)
@blp.response(200, PackScanOut)
@requires("packing.pack")
def pack_scan(body: dict[str, Any], order_id: int, number: int) -> dict[str, Any]:
    """Pack the scanned unit(s) into the carton; a wrong item or one too many: 409 or 422,
    nothing packed. Every scan is logged, refused or not."""
    setup = scanning.scanner_setup(config())
    context = scanning.ScanContext(user=current_user(), source="api", scan_id=body["scan_id"])

    def act() -> scanning.Logged:
        scanned = scanning.read_and_match(db(), body["code"], setup)
        return packing.pack_code(db(), order_id, number, scanned, body["qty"])

    with transaction() as session:
        outcome = scanning.record_scan(session, body["code"], context, act)
    return outcome.answer_or_raise()


@blp.route("/<int:order_id>/cartons/<int:number>/close", methods=["POST"])
@blp.arguments(CloseIn)
@blp.response(200, CartonOut)
@requires("packing.pack")
@idempotent
def close_carton(body: dict[str, Any], order_id: int, number: int) -> Carton:
    """Weigh and close the carton: `closed`, or `held` when its weight is off by more than the
    tolerance; the order's last close packs it and queues its labels."""
    carton = packing.carton_of(db(), order_id, number)
    return stations.close_and_label(db(), carton.id, body["weight_g"], config(), body["station"])

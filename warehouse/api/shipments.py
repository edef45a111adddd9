"""Shipments: the labels of an order's cartons (a shipment is the cartons of one order)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from warehouse import packing
from warehouse.web import config, db, requires

blp = Blueprint("shipments", __name__, url_prefix="/api/shipments", description="Shipments")


class LabelQuery(ma.Schema):
    format = ma.fields.String(load_default="zpl", validate=ma.validate.OneOf(("zpl", "pdf")))
    carton = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))


@blp.route("/<int:shipment_id>/label")
@requires("shipments.read")
@blp.arguments(LabelQuery, location="query")
@blp.response(200, content_type="application/octet-stream")
def label(query: dict[str, Any], shipment_id: int) -> Response:
    """A carton's shipping label: ZPL for 4x6 in at 203 dpi, or a 4x6 in PDF page."""
    document = packing.shipment_label(db(), shipment_id, query["carton"], config(), query["format"])
    kind = "application/pdf" if query["format"] == "pdf" else "application/zpl"
    return Response(document, mimetype=kind)

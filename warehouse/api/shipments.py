"""Shipments as integrations see them: the cartons of an order that leave together (an order's
shipments are listed on it), their labels, a carrier's own label attached to a carton, and a
supervisor's hand-over."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request
from flask_smorest import Blueprint

from labels.carrier import MAX_BYTES, format_of
from labels.printers import LabelFormat
from warehouse import labelling, limits, shipping
from warehouse.api.printing import PrintJobOut
from warehouse.carriers import HandOver
from warehouse.errors import InvalidInput, NotFound
from warehouse.models import CartonStatus, OrderStatus, ShipmentStatus
from warehouse.web import config, current_user, db, idempotent, requires, served_channels

blp = Blueprint("shipments", __name__, url_prefix="/api/shipments", description="Shipments")

# Content types that name a carrier label's format.
LABEL_TYPES = {
    "application/pdf": LabelFormat.PDF,
    "application/zpl": LabelFormat.ZPL,
    "application/x-zpl": LabelFormat.ZPL,
}
# Content types that do not: the label's first bytes tell ("%PDF-" is a PDF, else ZPL).
UNTYPED = ("", "application/octet-stream", "text/plain")


class LabelQuery(ma.Schema):
    format = ma.fields.String(
        load_default=LabelFormat.ZPL, validate=ma.validate.OneOf(tuple(LabelFormat))
    )
    carton = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(1, limits.MAX_ID),
        metadata={"description": "the carton's number; the shipment's first when left out"},
    )


class ShipmentItemOut(ma.Schema):
    sku = ma.fields.String(attribute="order_line.product.sku")
    qty = ma.fields.Integer()


class ShipmentCartonOut(ma.Schema):
    number = ma.fields.Integer(attribute="carton.number")
    box = ma.fields.String(attribute="carton.box")
    status = ma.fields.String(attribute="carton.status", metadata={"enum": list(CartonStatus)})
    weight_g = ma.fields.Integer(attribute="carton.weight_g", allow_none=True)
    expected_g = ma.fields.Integer(attribute="carton.expected_g", allow_none=True)
    sscc = ma.fields.String(attribute="carton.sscc", allow_none=True)
    carrier = ma.fields.String(
        attribute="carton.carrier",
        allow_none=True,
        metadata={"description": "who carries it: config's [shipping] carrier for our label"},
    )
    service = ma.fields.String(attribute="carton.service", allow_none=True)
    tracking = ma.fields.String(
        attribute="carton.tracking",
        allow_none=True,
        metadata={"description": "the carrier's where its label is attached, else ours"},
    )
    carrier_label = ma.fields.String(
        attribute="carton.carrier_label_format",
        allow_none=True,
        metadata={
            "enum": list(LabelFormat),
            "description": "the format of the carrier's label, if one is attached",
        },
    )
    printed_label = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "whose label the label job prints: carrier, or ours where the "
            "printer cannot print the carrier's format; null before the order is packed"
        },
    )
    label_job = ma.fields.Nested(PrintJobOut, allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ShipmentItemOut), attribute="carton.items")


class ShipmentOut(ma.Schema):
    id = ma.fields.Integer(attribute="shipment.id")
    number = ma.fields.Integer(
        attribute="shipment.number",
        metadata={"description": "1 for an order's first shipment, 2 for the rest sent later"},
    )
    shipment_status = ma.fields.String(
        attribute="shipment.status", metadata={"enum": list(ShipmentStatus)}
    )
    shipped_at = ma.fields.DateTime(attribute="shipment.shipped_at", allow_none=True)
    order_id = ma.fields.Integer(attribute="order.id")
    external_id = ma.fields.String(attribute="order.external_id")
    channel = ma.fields.String(attribute="order.channel.code")
    status = ma.fields.String(
        attribute="order.status", metadata={"enum": list(OrderStatus), "description": "the order's"}
    )
    cartons = ma.fields.List(ma.fields.Nested(ShipmentCartonOut))


TRACKING_DESCRIPTION = (
    "the carrier's tracking number, as its barcode on the label scans: 1 to 48 letters, "
    "digits and ASCII punctuation, that fit the barcode of our own 4x6 label"
)


def carrier_name(what: str, **kwargs: Any) -> ma.fields.String:
    """A carrier's or a service's name: 1 to 64 printable characters."""
    kwargs["metadata"] = {
        "description": f"the {what}'s name as it is printed",
        **kwargs.get("metadata", {}),
    }
    return ma.fields.String(validate=ma.validate.Length(1, limits.MAX_CARRIER), **kwargs)


class CarrierLabelQuery(ma.Schema):
    tracking = ma.fields.String(
        required=True, metadata={"description": TRACKING_DESCRIPTION, "maxLength": 48}
    )
    carrier = carrier_name("carrier", required=True)
    service = carrier_name("service", load_default=None)


class HandOverCartonIn(ma.Schema):
    number = limits.row_id(required=True, metadata={"description": "the carton's number"})
    tracking = ma.fields.String(
        required=True, metadata={"description": TRACKING_DESCRIPTION, "maxLength": 48}
    )


class HandOverIn(ma.Schema):
    carrier = carrier_name(
        "carrier",
        load_default=None,
        metadata={"description": "who took every carton; needed with service or cartons"},
    )
    service = carrier_name("service", load_default=None)
    cartons = limits.Items(
        ma.fields.Nested(HandOverCartonIn),
        limits.MAX_CARTONS,
        load_default=list,
        metadata={"description": "the carrier's tracking numbers of cartons, by number"},
    )

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> HandOver:
        tracking = tuple((carton["number"], carton["tracking"]) for carton in data["cartons"])
        return HandOver(data["carrier"], data["service"], tracking)


@blp.route("/<int:shipment_id>")
@requires("shipments.read")
@blp.response(200, ShipmentOut)
def show(shipment_id: int) -> shipping.ShipmentDetails:
    """A shipment: its cartons, their items, tracking numbers and label jobs."""
    return shipping.get_shipment(db(), shipment_id, served_channels())


@blp.route("/<int:shipment_id>/label")
@requires("shipments.read")
@blp.arguments(LabelQuery, location="query")
@blp.doc(
    description=(
        "Where a carrier's own label in the requested format is attached to the carton, "
        "that label as it was attached; else the warehouse's own, bearing the carton's "
        "tracking number (the carrier's, where attached) and SSCC."
    )
)
@blp.response(200, content_type="application/octet-stream")
def label(query: dict[str, Any], shipment_id: int) -> Response:
    """A carton's shipping label: ZPL for 4x6 in at 203 dpi, or a 4x6 in PDF page."""
    format = LabelFormat(query["format"])
    # A shipment of a channel the token does not serve is a 404, as if it did not exist.
    shipping.get_shipment_row(db(), shipment_id, served_channels())
    document = labelling.shipment_label(db(), shipment_id, query["carton"], config(), format)
    kind = "application/pdf" if format == LabelFormat.PDF else "application/zpl"
    return Response(document, mimetype=kind)


@blp.route("/<int:shipment_id>/cartons/<int:number>/label", methods=["PUT"])
@requires("shipments.write")
@blp.arguments(CarrierLabelQuery, location="query")
@blp.doc(
    description=(
        "The body is the carrier's label as it prints: a whole PDF (`application/pdf`) or "
        "ZPL of one or more ^XA...^XZ formats (`application/zpl`), at most "
        f"{MAX_BYTES // (1024 * 1024)} MB. Sent as `application/octet-stream` or "
        "`text/plain`, a body starting `%PDF-` is taken as a PDF and any other as ZPL. "
        "Anything else is refused with 422 `not_a_label` and nothing is stored. The "
        "`tracking` number replaces the carton's, so the dock scan of the carrier's label "
        "matches. Once the order is packed, the label job is queued again on the same "
        "printer with the carrier's label, or with the warehouse's own bearing the "
        "carrier's tracking number where that printer cannot print the format (a PDF on a "
        "raw ZPL printer, ZPL on a handheld): `printed_label` says which. The same label "
        "and tracking number again changes and prints nothing. 409 `already_shipped` once "
        "the carton has shipped; 409 `tracking_taken` for another carton's number."
    ),
    requestBody={
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("application/pdf", "application/zpl")
        },
    },
)
@blp.response(200, ShipmentCartonOut)
def attach_label(query: dict[str, Any], shipment_id: int, number: int) -> shipping.ShipmentCarton:
    """Attach a carrier's own label (PDF or ZPL) and tracking number to a carton."""
    shipping.get_shipment_row(db(), shipment_id, served_channels())
    document = request.get_data(cache=False)
    if request.mimetype in LABEL_TYPES:
        format = LABEL_TYPES[request.mimetype]
    elif request.mimetype in UNTYPED:
        format = format_of(document)
    else:
        raise InvalidInput(
            f"A carrier label is sent as application/pdf or application/zpl, "
            f"not {request.mimetype}.",
            field="label",
            code="not_a_label",
        )
    return labelling.attach_carrier_label(
        db(), shipment_id, number, document, format, query["tracking"], config(),
        query["carrier"], query["service"],
    )  # fmt: skip


@blp.route("/<int:shipment_id>/ship", methods=["POST"])
@requires("shipments.confirm")
@idempotent
@blp.doc(
    description=(
        "For supervisors: every carton is marked shipped and the shipment ships (stock booked "
        "out, reservations consumed; the order has shipped when nothing of it is left). The "
        "body may be left out; with the carrier's own paperwork it records the `carrier` "
        "and `service` every carton went with and the carrier's tracking numbers of "
        "`cartons` (422 for a carton the shipment does not have or a number no carrier "
        "barcode carries, 409 `tracking_taken` for a number another carton has; nothing "
        "changes). 409 `not_packed` unless the shipment is packed and every carton "
        "labelled; a shipment shipped already is answered as it is, or 409 "
        "`already_shipped` if the body would change it."
    )
)
@blp.arguments(HandOverIn, required=False)
@blp.response(200, ShipmentOut)
def ship(hand_over: HandOver, shipment_id: int) -> shipping.ShipmentDetails:
    """A supervisor hands the shipment over without its labels scanned back: it ships."""
    shipping.get_shipment(db(), shipment_id)  # an unknown shipment is a 404, not a 409
    shipping.ship_by_hand(db(), current_user(), shipment_id, hand_over)
    return shipping.get_shipment(db(), shipment_id)


class PrintToIn(ma.Schema):
    printer = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 64),
        metadata={"description": "a printer of config.toml; the label is made in its format"},
    )


@blp.route("/<int:shipment_id>/cartons/<int:number>/print", methods=["POST"])
@requires("packing.pack")
@idempotent
@blp.arguments(PrintToIn)
@blp.response(200, PrintJobOut)
def print_to(body: dict[str, Any], shipment_id: int, number: int) -> Any:
    """Send a labelled carton's label to another printer (its job still waiting is replaced):
    what a packer does when the station's printer fails."""
    shipment = shipping.get_shipment_row(db(), shipment_id)
    carton = next(
        (c for c in shipping.shipment_cartons(db(), shipment.id) if c.number == number), None
    )
    if carton is None:
        raise NotFound(f"Shipment {shipment_id} has no carton {number}.", code="unknown_carton")
    return labelling.label_to(db(), carton.id, body["printer"], config())

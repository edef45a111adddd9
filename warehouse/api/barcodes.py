"""Barcodes: what a raw scan names, and the barcodes in a photo. Every scan is logged."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify, request
from flask_smorest import Blueprint

from scanners.read import MAX_LENGTH as MAX_SCAN_LENGTH
from warehouse import scanning, stations
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.models import ROLES, OrderStatus
from warehouse.web import (
    config,
    current_user,
    db,
    require,
    requires,
    takes_raw_scans,
    transaction,
    write_now,
    writes_late,
)

blp = Blueprint("barcodes", __name__, url_prefix="/api/barcodes", description="Scans and photos")


class ResolveIn(ma.Schema):
    # The length is documented, not checked here: an over-long scan is refused by the
    # parser, and logged.
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "the raw scan: AIM identifier, GS included",
            "maxLength": MAX_SCAN_LENGTH,
        },
    )
    station = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 64))
    scan_id = ma.fields.String(
        load_default=None,
        metadata={
            "description": "made by the client per scan; a retry with it is answered once",
            "pattern": f"^{scanning.SCAN_ID.pattern}$",
            "maxLength": 64,
        },
    )


class OmitsNone(ma.Schema):
    """Fields that say nothing are left out, as in the scan log."""

    @ma.post_dump
    def _omit_none(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {key: value for key, value in data.items() if value is not None}


class GS1Out(OmitsNone):
    gtin = ma.fields.String()
    sscc = ma.fields.String()
    lot = ma.fields.String()
    expiry = ma.fields.Date()
    serial = ma.fields.String()
    count = ma.fields.Integer()


class OrderRefOut(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": list(OrderStatus)})


class UserRefOut(ma.Schema):
    name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": list(ROLES)})


class PackStepOut(ma.Schema):
    kind = ma.fields.String(metadata={"enum": ["pack"]})
    step = ma.fields.String(
        metadata={"enum": ["order", "item"], "description": "an order on the bench, or an item"}
    )
    order = ma.fields.Integer()
    carton = ma.fields.Integer(metadata={"description": "the carton number the item went into"})
    sku = ma.fields.String()
    units = ma.fields.Integer()


class ResolvedOut(OmitsNone):
    kind = ma.fields.String(required=True, metadata={"enum": list(scanning.KINDS)})
    code = ma.fields.String(metadata={"description": "the scan without framing and AIM id"})
    symbology = ma.fields.String(metadata={"description": "AIM symbology identifier, if sent"})
    sku = ma.fields.String()
    name = ma.fields.String()
    units = ma.fields.Integer(metadata={"description": "units a case code counts"})
    location = ma.fields.String()
    order = ma.fields.Nested(OrderRefOut)
    user = ma.fields.Nested(UserRefOut)
    tote = ma.fields.String()
    carton = ma.fields.String()
    gs1 = ma.fields.Nested(GS1Out)
    pack = ma.fields.Nested(
        PackStepOut,
        metadata={"description": "what a scan from a pack station's scanner did there"},
    )


class CodeOut(ma.Schema):
    symbology = ma.fields.String()
    text = ma.fields.String(metadata={"description": "as a scanner would send it"})


class DecodedOut(ma.Schema):
    codes = ma.fields.List(ma.fields.Nested(CodeOut))


class DecodeIn(ma.Schema):
    image = ma.fields.Raw(metadata={"type": "string", "format": "binary"})


@blp.route("/resolve", methods=["POST"])
@requires("scan.resolve")
@writes_late
@takes_raw_scans("code")
@blp.arguments(ResolveIn)
@blp.response(200, ResolvedOut)
def resolve(body: dict[str, Any]) -> scanning.Resolved | Response:
    """What a raw scan names; a malformed GS1 string or a bad check digit is a 422. A scan
    sent for a station comes from its scanner, which packs: that needs packing.pack."""
    if body["station"] is not None:
        require("packing.pack")
    context = scanning.ScanContext(
        user=current_user(),
        source="agent" if body["station"] else "api",
        station=body["station"],
        scan_id=body["scan_id"],
    )
    setup = scanning.scanner_setup(config())
    if body["station"] in config().stations:
        return jsonify(_at_pack_station(body["station"], body["code"], setup, context))
    # The log entry stays even when the scan is refused.
    with transaction(write=False):
        outcome = scanning.resolve_scan(db(), body["code"], setup, context, then_write=write_now)
    return outcome.answer_or_raise()


def _at_pack_station(
    station: str, raw: str, setup: scanning.ScannerSetup, context: scanning.ScanContext
) -> scanning.Logged:
    """A pack station's scanner: the scan goes to the order on its bench, and the
    station's page is told what it did (a refusal too)."""

    def act() -> scanning.Logged:
        scanned = scanning.read_and_match(db(), raw, setup)
        return stations.scan_at_bench(db(), station, scanned, config(), current_user())

    with transaction() as session:
        stations.bench(session, station, config())
        outcome = scanning.record_scan(session, raw, context, act)
        stations.tell_bench(
            session, station, *stations.said((outcome.answer or {}).get("pack"), outcome.refused)
        )
    return outcome.answer_or_raise()


class ImageRefused(WarehouseError):
    status = 422


def _decode(data: bytes) -> scanning.Logged:
    # Imported here: the decoders load native libraries that only this endpoint needs.
    from scanners.decode import DecodeLimits, ImageError, decode_image

    try:
        found = decode_image(data, DecodeLimits())
    except ImageError as error:
        raise ImageRefused(error.message, field="image", code=error.code) from None
    return {
        "kind": "image",
        "codes": [{"symbology": code.symbology, "text": code.text} for code in found],
    }


@blp.route("/decode", methods=["POST"])
@requires("scan.decode")
@writes_late
@blp.arguments(DecodeIn, location="files")
@blp.response(200, DecodedOut)
def decode(_files: dict[str, Any]) -> dict[str, Any]:
    """The barcodes in a photo (multipart field `image`); not an image is a 422."""
    upload = request.files.get("image")
    if upload is None:
        raise InvalidInput("Send the photo as the multipart field 'image'.", field="image")
    data = upload.read()
    context = scanning.ScanContext(user=current_user(), source="camera")
    # Decoded before the write transaction begins: on SQLite a decode holding the one write
    # lock would stall every other writer, and a second decode, for its whole length.
    tried = scanning.attempt(lambda: _decode(data))
    with transaction() as session:
        outcome = scanning.log_attempt(session, f"<image {len(data)} bytes>", context, tried)
    answer = outcome.answer_or_raise()
    return {"codes": answer["codes"]}

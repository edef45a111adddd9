"""Products and locations: PUT /api/products/{sku}, PUT /api/locations/{code}, and their GETs."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import catalog, limits, scanning
from warehouse.models import Location, Product
from warehouse.web import config, db, requires

blp = Blueprint("catalog", __name__, url_prefix="/api", description="Catalog")


class CaseBarcode(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    units = limits.units(required=True)


class ProductIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    barcodes = limits.Items(
        ma.fields.String(validate=ma.validate.Length(1, 64)),
        catalog.MAX_BARCODES,
        load_default=list,
        metadata={"description": "GTIN-8/12/13/14 (check digit validated) or internal codes"},
    )
    cases = limits.Items(
        ma.fields.Nested(CaseBarcode),
        catalog.MAX_BARCODES,
        load_default=list,
        metadata={"description": "case barcodes, each counting as `units` units"},
    )
    unit_price = limits.price(allow_none=True)
    unit_cost = limits.price(allow_none=True)
    weight_g = limits.grams(allow_none=True)


class ProductOut(ma.Schema):
    sku = ma.fields.String()
    name = ma.fields.String()
    barcodes = ma.fields.Method(
        "_units_barcodes", metadata={"type": "array", "items": {"type": "string"}}
    )
    cases = ma.fields.Method(
        "_case_barcodes",
        metadata={
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "units": {"type": "integer"}},
            },
        },
    )
    unit_price = ma.fields.Float(allow_none=True)
    unit_cost = ma.fields.Float(allow_none=True)
    weight_g = ma.fields.Integer(allow_none=True)

    def _units_barcodes(self, product: Product) -> list[str]:
        return [b.entered for b in product.barcodes if b.units == 1]

    def _case_barcodes(self, product: Product) -> list[dict[str, Any]]:
        return [{"code": b.entered, "units": b.units} for b in product.barcodes if b.units > 1]


class LocationIn(ma.Schema):
    zone = ma.fields.String(validate=ma.validate.Length(0, 32))
    pickable = ma.fields.Boolean(truthy={True}, falsy={False})
    sellable = ma.fields.Boolean(
        truthy={True},
        falsy={False},
        metadata={
            "description": "false: units here are on hand but reserved for no order and "
            "offered to no channel (quarantine). A new location is sellable but the one of "
            "returns.quarantine."
        },
    )


class LocationOut(ma.Schema):
    code = ma.fields.String()
    zone = ma.fields.String()
    pickable = ma.fields.Boolean()
    sellable = ma.fields.Boolean()
    aisle = ma.fields.String(allow_none=True)
    bay = ma.fields.String(allow_none=True)
    level = ma.fields.String(allow_none=True)


@blp.route("/products/<sku>", methods=["PUT"])
@blp.arguments(ProductIn)
@blp.response(200, ProductOut, description="updated")
@blp.alt_response(201, schema=ProductOut, description="created")
@requires("catalog.write")
def put_product(body: dict[str, Any], sku: str) -> tuple[Product, int]:
    """Create or replace a product and its barcodes (409 barcode_taken if one is another's)."""
    spec = catalog.ProductSpec(
        name=body["name"],
        barcodes=tuple(
            catalog.BarcodeSpec(code, field=f"barcodes[{i}]")
            for i, code in enumerate(body["barcodes"])
        )
        + tuple(
            catalog.BarcodeSpec(c["code"], c["units"], field=f"cases[{i}].code")
            for i, c in enumerate(body["cases"])
        ),
        unit_price=body.get("unit_price"),
        unit_cost=body.get("unit_cost"),
        weight_g=body.get("weight_g"),
    )
    product, created = catalog.put_product(
        db(), sku, spec, scanning.scanner_setup(config()).patterns
    )
    return product, 201 if created else 200


@blp.route("/products/<sku>", methods=["GET"])
@blp.response(200, ProductOut)
@requires("catalog.read")
def get_product(sku: str) -> Product:
    """The product, 404 if unknown."""
    return catalog.get_product(db(), sku)


@blp.route("/locations/<code>", methods=["PUT"])
@blp.arguments(LocationIn)
@blp.response(200, LocationOut, description="updated")
@blp.alt_response(201, schema=LocationOut, description="created")
@requires("locations.write")
def put_location(body: dict[str, Any], code: str) -> tuple[Location, int]:
    """Create or update a location; aisle, bay and level are read from its code. Marking a
    location that holds stock not sellable takes back reservations beyond the units left for
    sale (409 `location_held` while units there are held for pick lists); marking it sellable
    fills waiting backorders."""
    location, created = catalog.put_location(
        db(), code, config().warehouse.location_pattern, body.get("zone"), body.get("pickable"),
        body.get("sellable"), quarantine=config().returns.quarantine,
    )  # fmt: skip
    return location, 201 if created else 200


@blp.route("/locations/<code>", methods=["GET"])
@blp.response(200, LocationOut)
@requires("catalog.read")
def get_location(code: str) -> Location:
    """The location, 404 if unknown."""
    return catalog.get_location(db(), code)

"""The catalog: products with their barcodes, and locations with their place in the layout."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from scanners.gtin import InvalidGtin, looks_like_gtin, normalize_gtin
from warehouse.db import insert_or_skip
from warehouse.errors import BarcodeTaken, InvalidInput, NotFound, UnknownLocation, UnknownSku
from warehouse.limits import MAX_PRICE, MAX_UNITS, MAX_WEIGHT_G
from warehouse.models import Barcode, Location, Product
from warehouse.sellable import mark_sellable

SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
INTERNAL_CODE_PATTERN = re.compile(r"[\x21-\x7e]{1,64}")
# Barcodes of one product, unit and case codes together.
MAX_BARCODES = 50
# What the service's own codes are called where a person reads the refusal.
INTERNAL_KINDS = {
    "user": "a badge",
    "tote": "a tote",
    "carton": "a carton",
    "order": "an order",
    "location": "a location",
}


@dataclass(frozen=True)
class BarcodeSpec:
    """A barcode as entered: a GTIN or an internal code, counting `units` of the product."""

    code: str
    units: int = 1
    # The input it came from, named in a refusal.
    field: str = "barcodes"


@dataclass(frozen=True)
class ProductSpec:
    name: str
    barcodes: tuple[BarcodeSpec, ...] = ()
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    weight_g: int | None = None


def barcode_key(code: str) -> tuple[str, str]:
    """The lookup key and kind of a barcode: GTIN-shaped codes must carry a valid check digit."""
    if looks_like_gtin(code):
        try:
            return normalize_gtin(code), "gtin"
        except InvalidGtin as exc:
            raise InvalidInput(str(exc), field="barcodes", code="invalid_gtin") from None
    if not INTERNAL_CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            f"{code!r} is not a barcode: use 1 to 64 printable ASCII characters, no spaces",
            field="barcodes",
        )
    return code, "internal"


def check_sku(sku: str) -> str:
    """Refuse a SKU that a scanner, a URL or a label could not carry intact."""
    if not SKU_PATTERN.fullmatch(sku):
        raise InvalidInput(
            f"{sku!r} is not a valid SKU: 1 to 64 letters, digits or . _ -, "
            "starting with a letter or digit",
            field="sku",
        )
    return sku


def _check_spec(spec: ProductSpec, reserved: Mapping[str, str]) -> None:
    """The numbers of a product within their ranges, and no barcode in the shape of one of
    the service's own codes (it would be read as that code, not as the product)."""
    for field, amount in (("unit_price", spec.unit_price), ("unit_cost", spec.unit_cost)):
        if amount is not None and not 0 <= amount <= MAX_PRICE:
            raise InvalidInput(f"{field} must be from 0 to {MAX_PRICE}.", field=field)
    if spec.weight_g is not None and not 0 <= spec.weight_g <= MAX_WEIGHT_G:
        raise InvalidInput(f"weight_g must be from 0 to {MAX_WEIGHT_G} g.", field="weight_g")
    if len(spec.barcodes) > MAX_BARCODES:
        raise InvalidInput(f"A product has {MAX_BARCODES} barcodes at most.", field="barcodes")
    for barcode in spec.barcodes:
        if not 1 <= barcode.units <= MAX_UNITS:
            field = barcode.field.removesuffix(".code") + ".units"
            raise InvalidInput(f"A case counts 1 to {MAX_UNITS} units.", field=field)
        kind = next(
            (kind for kind, pattern in reserved.items() if re.fullmatch(pattern, barcode.code)),
            None,
        )
        if kind is not None:
            raise InvalidInput(
                f"{barcode.code} has the shape of {INTERNAL_KINDS.get(kind, kind)} code of this "
                "warehouse, so a scan of it would not find the product: give the product "
                "another barcode.",
                field=barcode.field,
                code="reserved_barcode",
            )


def put_product(
    session: Session, sku: str, spec: ProductSpec, reserved: Mapping[str, str] | None = None
) -> tuple[Product, bool]:
    """Create or replace a product and its set of barcodes; returns (product, created).
    `reserved` maps the kinds of the service's own codes to their patterns (see
    scanning.internal_patterns): a barcode in one of those shapes is refused."""
    check_sku(sku)
    _check_spec(spec, reserved or {})
    keyed: dict[str, tuple[str, BarcodeSpec]] = {}
    for barcode in spec.barcodes:
        key, kind = barcode_key(barcode.code)
        earlier = keyed.get(key)
        if earlier and earlier[1].units != barcode.units:
            raise InvalidInput(
                f"{barcode.code!r} is given twice with different units", field="barcodes"
            )
        keyed.setdefault(key, (kind, barcode))
    # The row is inserted if missing, then locked: concurrent PUTs of one new SKU queue up
    # behind the first instead of racing it to the unique index (one 201, the rest 200).
    inserted = session.execute(
        insert_or_skip(session, Product, ["sku"]).returning(Product.id),
        {"sku": sku, "name": spec.name},
    ).first()
    product = session.scalars(
        select(Product)
        .where(Product.sku == sku)
        .with_for_update()
        .options(selectinload(Product.barcodes))
    ).one()
    if keyed:
        taken = session.execute(
            select(Barcode.entered, Product.sku)
            .join(Barcode.product)
            .where(Barcode.code.in_(keyed), Product.sku != sku)
        ).first()
        if taken:
            raise BarcodeTaken(
                f"Barcode {taken.entered} already belongs to product {taken.sku}.", field="barcodes"
            )
    created = inserted is not None
    product.name = spec.name
    product.unit_price = spec.unit_price
    product.unit_cost = spec.unit_cost
    product.weight_g = spec.weight_g
    kept = {b.code: b for b in product.barcodes if b.code in keyed}
    product.barcodes = [
        _updated(kept[key], barcode)
        if key in kept
        else Barcode(code=key, entered=barcode.code, kind=kind, units=barcode.units)
        for key, (kind, barcode) in keyed.items()
    ]
    session.flush()
    return product, created


def _updated(row: Barcode, barcode: BarcodeSpec) -> Barcode:
    row.entered = barcode.code
    row.units = barcode.units
    return row


def get_product(session: Session, sku: str) -> Product:
    """The product with this SKU, or NotFound."""
    product = session.scalar(
        select(Product).where(Product.sku == sku).options(selectinload(Product.barcodes))
    )
    if product is None:
        raise NotFound(f"No product has SKU {sku!r}.", code="unknown_sku")
    return product


def product_for_sku(session: Session, sku: str) -> Product:
    """The product named in a request body, or UnknownSku (422)."""
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise UnknownSku(sku)
    return product


def find_barcode(session: Session, code: str) -> Barcode | None:
    """The barcode row a scanned or typed code stands for, in any of its GTIN forms."""
    try:
        key, _ = barcode_key(code)
    except InvalidInput:
        return None
    return session.scalar(select(Barcode).where(Barcode.code == key))


@dataclass(frozen=True)
class Place:
    aisle: str | None
    bay: str | None
    level: str | None


def place_of(code: str, pattern: str) -> Place:
    """Aisle, bay and level of a location code read by the configured pattern."""
    match = re.fullmatch(pattern, code)
    if match is None:
        raise InvalidInput(
            f"{code!r} does not match the location code pattern of this warehouse",
            field="code",
            code="invalid_location_code",
        )
    return Place(match.group("aisle"), match.group("bay"), match.group("level"))


def put_location(
    session: Session,
    code: str,
    pattern: str,
    zone: str | None = None,
    pickable: bool | None = None,
    sellable: bool | None = None,
    *,
    quarantine: str = "",
) -> tuple[Location, bool]:
    """Create or update a location; its place comes from its code. A new one is sellable
    unless it is `quarantine` (where returns wait for a check); marking one that holds stock
    settles its products' reservations (`sellable.mark_sellable`). Returns (location, created)."""
    place = place_of(code, pattern)
    location = session.scalar(select(Location).where(Location.code == code))
    created = location is None
    if location is None:
        # Places outside the aisles (docks, quarantine) are not picked from by default.
        location = Location(
            code=code,
            pickable=place.aisle is not None,
            sellable=code != quarantine if sellable is None else sellable,
            zone="",
        )
        session.add(location)
    location.aisle, location.bay, location.level = place.aisle, place.bay, place.level
    if zone is not None:
        location.zone = zone
    if pickable is not None:
        location.pickable = pickable
    session.flush()
    if not created and sellable is not None:
        mark_sellable(session, location, sellable)
    return location, created


def get_location(session: Session, code: str) -> Location:
    """The location with this code, or NotFound."""
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        raise NotFound(f"No location has code {code!r}.", code="unknown_location")
    return location


def location_for_code(session: Session, code: str, field: str = "location") -> Location:
    """The location named in a request body, or UnknownLocation (422)."""
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        raise UnknownLocation(code, field=field)
    return location

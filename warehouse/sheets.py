"""Sheets of barcodes to print from the warehouse's own data: bin labels, product labels and
staff badges (PDF, on A4 or Letter label sheets)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from labels.sheets import (
    Badge,
    LocationLabel,
    ProductLabel,
    badges_pdf,
    locations_pdf,
    products_pdf,
)
from warehouse.errors import NotFound
from warehouse.models import Location, Product, User

Paper = Literal["A4", "Letter"]
SHEETS = ("locations", "products", "badges")


def _ean13(product: Product) -> str | None:
    """The product's unit EAN-13 (a GTIN-14 with a leading 0), if it has one."""
    for barcode in product.barcodes:
        if barcode.kind == "gtin" and barcode.units == 1 and barcode.code.startswith("0"):
            return barcode.code[1:]
    return None


def sheet(session: Session, kind: str, prefix: str = "", paper: Paper = "A4") -> bytes:
    """A sheet of `kind` (locations, products or badges) for the codes, SKUs or names that
    start with `prefix`; refused when nothing matches."""
    if kind == "locations":
        locations = session.scalars(
            select(Location)
            .where(Location.code.startswith(prefix, autoescape=True))
            .order_by(Location.code)
        ).all()
        items = [LocationLabel(each.code, each.zone) for each in locations]
        document = locations_pdf(items, paper) if items else b""
    elif kind == "products":
        products = session.scalars(
            select(Product)
            .where(Product.sku.startswith(prefix, autoescape=True))
            .order_by(Product.sku)
            .options(selectinload(Product.barcodes))
        ).all()
        labels = [ProductLabel(each.sku, each.name, _ean13(each)) for each in products]
        document = products_pdf(labels, paper) if labels else b""
    elif kind == "badges":
        users = session.scalars(
            select(User)
            .where(
                User.active, User.badge.is_not(None), User.name.startswith(prefix, autoescape=True)
            )
            .order_by(User.name)
        ).all()
        badges = [Badge(each.badge or "", each.name) for each in users]
        document = badges_pdf(badges, paper) if badges else b""
    else:
        raise NotFound(f"No sheet of {kind!r}: {', '.join(SHEETS)}.", code="unknown_sheet")
    if not document:
        raise NotFound(f"No {kind} start with {prefix!r}.", code="nothing_to_print")
    return document

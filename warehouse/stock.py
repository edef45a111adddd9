"""What stock there is: a product's units on hand, not for sale, reserved and per bin, what a
bin holds, what a scanned or typed code is, and a product's ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse.catalog import find_barcode, get_product
from warehouse.models import Location, Movement, Product, Stock


@dataclass(frozen=True)
class LocationStock:
    location: str
    on_hand: int
    sellable: bool = True


@dataclass(frozen=True)
class StockSummary:
    sku: str
    on_hand: int
    unsellable: int
    reserved: int
    locations: tuple[LocationStock, ...]

    @property
    def available(self) -> int:
        """Units orders may still take: on hand, less those not for sale and those reserved."""
        return self.on_hand - self.unsellable - self.reserved


@dataclass(frozen=True)
class BinLine:
    sku: str
    name: str
    lot: str
    expiry: date | None
    qty: int


@dataclass(frozen=True)
class LocationContents:
    location: str
    lines: tuple[BinLine, ...]
    sellable: bool = True


@dataclass(frozen=True)
class ProductStock:
    name: str
    summary: StockSummary


def look_up(session: Session, code: str) -> ProductStock | LocationContents | None:
    """What a scanned or typed code is (a SKU, a product barcode or a location) and its stock."""
    barcode = find_barcode(session, code)
    sku = barcode.product.sku if barcode else code
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is not None:
        return ProductStock(product.name, stock_summary(session, product.sku))
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        return None
    rows = session.execute(
        select(Product.sku, Product.name, Stock.lot, Stock.expiry, Stock.qty)
        .join(Stock.product)
        .where(Stock.location_id == location.id, Stock.qty > 0)
        .order_by(Product.sku, Stock.expiry, Stock.lot)
    ).all()
    return LocationContents(location.code, tuple(BinLine(*row) for row in rows), location.sellable)


def ledger(session: Session, sku: str, limit: int = 100) -> list[Movement]:
    """The newest movements of a product, newest first."""
    product = get_product(session, sku)
    return list(
        session.scalars(
            select(Movement)
            .where(Movement.product_id == product.id)
            .order_by(Movement.id.desc())
            .limit(limit)
        )
    )


def stock_summary(session: Session, sku: str) -> StockSummary:
    """On hand, not for sale, reserved and per-location units of one product."""
    product = get_product(session, sku)
    rows = session.execute(
        select(Location.code, func.sum(Stock.qty), Location.sellable)
        .join(Stock.location)
        .where(Stock.product_id == product.id, Stock.qty > 0)
        .group_by(Location.code, Location.sellable)
        .order_by(Location.code)
    ).all()
    return StockSummary(
        sku=product.sku,
        on_hand=product.on_hand,
        unsellable=product.unsellable,
        reserved=product.reserved,
        locations=tuple(LocationStock(code, int(qty), sellable) for code, qty, sellable in rows),
    )

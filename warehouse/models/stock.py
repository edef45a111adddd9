"""The catalog and its stock: products and their barcodes, locations, units per bin, and
the append-only ledger of every change, and the bins to count."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.models.base import (
    Base,
    StrEnumType,
    UTCDateTime,
    code64,
    created,
    intpk,
    money,
    one_of,
    utcnow,
)
from warehouse.models.people import User
from warehouse.models.statuses import CountReviewStatus

MOVEMENT_KINDS = ("receive", "move", "adjust", "pick", "ship", "return")


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
    )

    id: Mapped[intpk]
    sku: Mapped[code64] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[money]
    unit_cost: Mapped[money]
    weight_g: Mapped[int | None]
    # Totals over all locations, kept in the same transaction as each stock change, so
    # a reservation is one conditional UPDATE of this row.
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # Of on_hand, the units in locations that are not sellable (quarantine): never reserved.
    unsellable: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[created]

    barcodes: Mapped[list[Barcode]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Barcode.id"
    )


class Barcode(Base):
    __tablename__ = "barcode"
    __table_args__ = (
        CheckConstraint("units >= 1", name="units"),
        one_of("kind", ("gtin", "internal")),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    # The lookup key: GTINs as GTIN-14, internal codes as given.
    code: Mapped[code64] = mapped_column(unique=True)
    # As it was entered, to show back to whoever entered it.
    entered: Mapped[code64]
    kind: Mapped[str] = mapped_column(String(8))
    # A case barcode counts as this many units of the product.
    units: Mapped[int] = mapped_column(default=1)

    product: Mapped[Product] = relationship(back_populates="barcodes")


class Location(Base):
    __tablename__ = "location"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    zone: Mapped[str] = mapped_column(String(32), default="")
    pickable: Mapped[bool] = mapped_column(default=True)
    # Units here are on hand but offered to no channel and reserved for no order (quarantine).
    sellable: Mapped[bool] = mapped_column(default=True)
    # From the configured location pattern; empty for places outside the aisles.
    aisle: Mapped[str | None] = mapped_column(String(16))
    bay: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))


class Stock(Base):
    """Units of one product at one location, per lot and expiry."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("qty >= 0", name="qty"),
        CheckConstraint("allocated >= 0 AND allocated <= qty", name="allocated"),
        # Two partial indexes, since NULL expiries never collide in a plain unique index.
        Index(
            "uq_stock_dated",
            "product_id",
            "location_id",
            "lot",
            "expiry",
            unique=True,
            sqlite_where=text("expiry IS NOT NULL"),
            postgresql_where=text("expiry IS NOT NULL"),
        ),
        Index(
            "uq_stock_undated",
            "product_id",
            "location_id",
            "lot",
            unique=True,
            sqlite_where=text("expiry IS NULL"),
            postgresql_where=text("expiry IS NULL"),
        ),
        Index("ix_stock_location_id", "location_id"),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(40), default="")
    expiry: Mapped[date | None]
    qty: Mapped[int] = mapped_column(default=0)
    # Units held here for open pick lists: no other pick list is sent for them.
    allocated: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship()
    location: Mapped[Location] = relationship()


class Movement(Base):
    """One line of the append-only stock ledger: a signed change of units on hand."""

    __tablename__ = "movement"
    __table_args__ = (
        one_of("kind", MOVEMENT_KINDS),
        Index("ix_movement_product_id_location_id", "product_id", "location_id"),
    )

    id: Mapped[intpk]
    at: Mapped[created]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(40), default="")
    expiry: Mapped[date | None]
    qty: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")

    product: Mapped[Product] = relationship()
    location: Mapped[Location] = relationship()
    user: Mapped[User | None] = relationship()


class CountTask(Base):
    """A bin to count: a picker found fewer units than the books say."""

    __tablename__ = "count_task"
    __table_args__ = (Index("ix_count_task_done_at", "done_at"),)

    id: Mapped[intpk]
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    reason: Mapped[str] = mapped_column(String(200))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[created]
    done_at: Mapped[datetime | None]

    location: Mapped[Location] = relationship()
    product: Mapped[Product] = relationship()


class CountReview(Base):
    """A count whose difference to the books is beyond the configured threshold: booked only
    once a second count agrees or a supervisor approves it."""

    __tablename__ = "count_review"
    __table_args__ = (
        one_of("status", CountReviewStatus),
        CheckConstraint("counted >= 0", name="counted"),
        Index("ix_count_review_status", "status"),
    )

    id: Mapped[intpk]
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot: Mapped[str] = mapped_column(String(40), default="")
    expiry: Mapped[date | None]
    counted: Mapped[int]
    # What the books said when it was counted: the difference is what a decision books.
    on_books: Mapped[int]
    status: Mapped[CountReviewStatus] = mapped_column(
        StrEnumType(CountReviewStatus, 10), default=CountReviewStatus.PENDING
    )
    counted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]

    location: Mapped[Location] = relationship()
    product: Mapped[Product] = relationship()
    counter: Mapped[User | None] = relationship(foreign_keys=[counted_by])

    @property
    def difference(self) -> int:
        return self.counted - self.on_books

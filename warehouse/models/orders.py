"""Sales channels and their orders."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.models.base import (
    Base,
    StrEnumType,
    UTCDateTime,
    created,
    intpk,
    money,
    one_of,
    utcnow,
)
from warehouse.models.statuses import OrderStatus
from warehouse.models.stock import Product

if TYPE_CHECKING:
    from warehouse.models.floor import Shipment


class Channel(Base):
    """A sales channel: its priority for scarce stock and what share of stock it may sell."""

    __tablename__ = "channel"
    __table_args__ = (
        CheckConstraint("buffer >= 0", name="buffer"),
        CheckConstraint("share > 0 AND share <= 1", name="share"),
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Lower is served first when backorders are filled.
    priority: Mapped[int] = mapped_column(default=100)
    buffer: Mapped[int] = mapped_column(default=0)
    share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(1))
    # Whether an order may ship what was found and send the rest later as its own shipment.
    ship_partial: Mapped[bool] = mapped_column(default=False)
    # Sets an order's ship_by, from its arrival, where the channel sent none.
    handling_hours: Mapped[int | None]
    # What the channel charges: a percent of revenue and a fixed fee per shipped order.
    fee_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    fee_fixed: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    # Where its events are POSTed; without one the channel pulls them.
    events_url: Mapped[str | None] = mapped_column(String(500))
    # Signs the channel's order webhooks and our events to it ("whsec_" and standard base64
    # of random bytes, as Standard Webhooks expects); kept as is since it must be used.
    webhook_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[created]

    def may_sell(self, available: int) -> int:
        """What the channel may sell of a product with `available` units free to sell:
        max(0, floor(available * share) - buffer)."""
        shared = (Decimal(available) * Decimal(self.share)).to_integral_value(ROUND_FLOOR)
        return max(0, int(shared) - self.buffer)


class Order(Base):
    """A channel order; (channel, external id) is unique, which makes intake idempotent."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        one_of("status", OrderStatus),
        Index("ix_customer_order_status_created_at", "status", "created_at"),
        Index("ix_customer_order_updated_at", "updated_at"),
    )

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[OrderStatus] = mapped_column(StrEnumType(OrderStatus, 16))
    # SHA-256 of the order as received (normalized), to tell a replay from a different order.
    fingerprint: Mapped[str] = mapped_column(String(64))
    ship_name: Mapped[str] = mapped_column(String(200))
    ship_street1: Mapped[str] = mapped_column(String(200))
    ship_street2: Mapped[str] = mapped_column(String(200), default="")
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_region: Mapped[str] = mapped_column(String(100), default="")
    ship_postal_code: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(2))
    ship_by: Mapped[datetime | None]
    created_at: Mapped[created]
    # Set in the transaction of every change to the order or its lines (the outbox's hook).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the channel was last told of the order (its status, units waiting and shipped):
    # the next change is told as the event that tells them apart. No status: not told yet.
    told_status: Mapped[str | None] = mapped_column(String(16))
    told_waiting: Mapped[int] = mapped_column(default=0)
    told_shipped: Mapped[int] = mapped_column(default=0)

    channel: Mapped[Channel] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    shipments: Mapped[list[Shipment]] = relationship(order_by="Shipment.number", viewonly=True)


class OrderLine(Base):
    """A line of an order: of its qty, `shipped` units have left, `reserved` are held for it
    (in bins, or picked into its tote), and the rest are backordered."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("qty >= 1", name="qty"),
        CheckConstraint("reserved >= 0 AND reserved <= qty", name="reserved"),
        CheckConstraint("shipped >= 0 AND reserved + shipped <= qty", name="shipped"),
        UniqueConstraint("order_id", "product_id"),
        Index("ix_order_line_product_id_backordered", "product_id", "backordered"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    qty: Mapped[int]
    unit_price: Mapped[money]
    reserved: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)
    # True while the line waits for stock, so backorders are found without a scan of all lines.
    backordered: Mapped[bool] = mapped_column(default=False)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def unshipped(self) -> int:
        """Units not shipped yet."""
        return self.qty - self.shipped

    @property
    def waiting(self) -> int:
        """Units the line still waits for (its backorder)."""
        return self.unshipped - self.reserved if self.backordered else 0

    @property
    def cancelled(self) -> int:
        """Units that will never ship: what had not shipped when the order was cancelled."""
        return self.unshipped if self.order.status == OrderStatus.CANCELLED else 0

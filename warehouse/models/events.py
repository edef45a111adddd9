"""The outbox: every change a channel must hear of, written in the transaction of the change,
then pushed to the channel's events URL and read by cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.models.base import Base, StrEnumType, UTCDateTime, created, intpk, one_of, utcnow
from warehouse.models.orders import Channel
from warehouse.models.statuses import EventStatus


class ChannelEvent(Base):
    """One event for one channel. `seq` orders a channel's events for readers: it is given
    after commit, under one lock, so an event committed late never lands behind a cursor
    already handed out."""

    __tablename__ = "channel_event"
    __table_args__ = (
        one_of("status", EventStatus),
        Index("ix_channel_event_channel_id_seq", "channel_id", "seq", unique=True),
        Index("ix_channel_event_status_next_try_at", "status", "next_try_at"),
        Index(
            "ix_channel_event_channel_id_product_id_status", "channel_id", "product_id", "status"
        ),
        Index("ix_channel_event_order_id", "order_id"),
        # The few events still without a position, found without reading the rest.
        Index(
            "ix_channel_event_unplaced",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[intpk]
    # The id a channel sees (webhook-id), the same on every delivery.
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    type: Mapped[str] = mapped_column(String(32))
    # What it is of: events of one order are delivered in order; stock events are coalesced.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[created]
    seq: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[EventStatus] = mapped_column(StrEnumType(EventStatus, 10))
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")
    delivered_at: Mapped[datetime | None]

    channel: Mapped[Channel] = relationship()


class ChannelFeed(Base):
    """What a channel was last told it may sell of a product (its last inventory.changed)."""

    __tablename__ = "channel_feed"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    available: Mapped[int]

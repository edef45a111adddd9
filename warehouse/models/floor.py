"""The floor's work: the scan log, pick lists and their picks, print jobs, cartons and
pack stations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.models.base import Base, StrEnumType, UTCDateTime, created, intpk, one_of, utcnow
from warehouse.models.orders import Order, OrderLine
from warehouse.models.people import User
from warehouse.models.statuses import (
    CartonStatus,
    PickListStatus,
    PickStatus,
    PrintJobStatus,
    ShipmentStatus,
)
from warehouse.models.stock import Stock

PICK_LIST_KINDS = ("order", "batch", "wave")


class ScanLog(Base):
    """Every scan made through the service, refused ones too, for audits and scanner trouble."""

    __tablename__ = "scan_log"
    __table_args__ = (Index("ix_scan_log_at", "at"),)

    id: Mapped[intpk]
    at: Mapped[created]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    station: Mapped[str | None] = mapped_column(String(64))
    # Where the scan came in: api, agent, camera, or the floor flow (receive, count, lookup).
    source: Mapped[str] = mapped_column(String(16))
    # scanner (a burst of keys), keyboard (typed by a person), camera, or None when not told.
    entry: Mapped[str | None] = mapped_column(String(8))
    # Made by the client per scan, so a retried request is answered from here, not applied twice.
    scan_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The first RAW_KEPT characters as sent (control characters included) and the full length.
    raw: Mapped[str] = mapped_column(String(512))
    raw_length: Mapped[int]
    kind: Mapped[str | None] = mapped_column(String(16))
    # The answer given: what the scan resolved to, or what the flow did with it.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    accepted: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(32), default="")
    message: Mapped[str] = mapped_column(String(300), default="")
    ms: Mapped[float] = mapped_column(Float)


class PickList(Base):
    """Stops to walk for one order, a batch of orders (a tote each) or a wave."""

    __tablename__ = "pick_list"
    __table_args__ = (
        one_of("kind", PICK_LIST_KINDS),
        one_of("status", PickListStatus),
        Index("ix_pick_list_status", "status"),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[PickListStatus] = mapped_column(
        StrEnumType(PickListStatus, 10), default=PickListStatus.OPEN
    )
    # Who holds it while picking; a supervisor may release an abandoned list.
    picker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    route_m: Mapped[float] = mapped_column(Float, default=0.0)
    route_method: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[created]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    picker: Mapped[User | None] = relationship()
    orders: Mapped[list[PickListOrder]] = relationship(
        back_populates="pick_list", order_by="PickListOrder.slot", cascade="all, delete-orphan"
    )
    picks: Mapped[list[Pick]] = relationship(
        back_populates="pick_list", order_by="Pick.seq", cascade="all, delete-orphan"
    )


class PickListOrder(Base):
    """An order on a pick list, in its slot on the cart and, once scanned, its tote."""

    __tablename__ = "pick_list_order"
    __table_args__ = (
        UniqueConstraint("pick_list_id", "slot"),
        UniqueConstraint("pick_list_id", "order_id"),
    )

    id: Mapped[intpk]
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_list.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    slot: Mapped[int]
    tote: Mapped[str | None] = mapped_column(String(32))

    pick_list: Mapped[PickList] = relationship(back_populates="orders")
    order: Mapped[Order] = relationship()


class Pick(Base):
    """One stop's work: units of an order line to take from one bin (and lot) to its tote."""

    __tablename__ = "pick"
    __table_args__ = (
        CheckConstraint("qty >= 1", name="qty"),
        CheckConstraint("picked >= 0 AND picked <= qty", name="picked"),
        one_of("status", PickStatus),
    )

    id: Mapped[intpk]
    pick_list_id: Mapped[int] = mapped_column(
        ForeignKey("pick_list.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"), index=True)
    # Walking order on the route.
    seq: Mapped[int]
    qty: Mapped[int]
    picked: Mapped[int] = mapped_column(default=0)
    status: Mapped[PickStatus] = mapped_column(StrEnumType(PickStatus, 8), default=PickStatus.OPEN)

    pick_list: Mapped[PickList] = relationship(back_populates="picks")
    order_line: Mapped[OrderLine] = relationship()
    stock: Mapped[Stock] = relationship()


class PrintJob(Base):
    """A document for a printer, stored before it is sent and kept after, for reprints.

    queued: waiting (first try, or after a failure until next_try_at); sending: claimed by
    one sender until lease_until (renewed while its send is alive), so two never send one job;
    sent: the printer took it; uncertain: it may have printed, and waits for a person's word;
    replaced: another document (a carrier's label) took its place before it was sent.
    """

    __tablename__ = "print_job"
    __table_args__ = (
        one_of("status", PrintJobStatus),
        Index("ix_print_job_status_next_try_at", "status", "next_try_at"),
    )

    id: Mapped[intpk]
    printer: Mapped[str] = mapped_column(String(64))
    # zpl or pdf
    format: Mapped[str] = mapped_column(String(8))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    # What it is, for people: "label, carton 3 of order 1042".
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[PrintJobStatus] = mapped_column(
        StrEnumType(PrintJobStatus, 10), default=PrintJobStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")
    reprint_of: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    created_at: Mapped[created]
    sent_at: Mapped[datetime | None]


class Shipment(Base):
    """A part of an order that leaves together: its cartons. An order ships in one shipment,
    or, on a channel that ships partly, in one per part."""

    __tablename__ = "shipment"
    __table_args__ = (
        UniqueConstraint("order_id", "number"),
        one_of("status", ShipmentStatus),
        CheckConstraint("number >= 1", name="number"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    number: Mapped[int]
    status: Mapped[ShipmentStatus] = mapped_column(
        StrEnumType(ShipmentStatus, 8), default=ShipmentStatus.PACKING
    )
    created_at: Mapped[created]
    shipped_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()
    cartons: Mapped[list[Carton]] = relationship(
        back_populates="shipment", order_by="Carton.number"
    )


class Counter(Base):
    """A number the service counts up, under the row's lock (the serials of SSCCs)."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int]


class Carton(Base):
    """A box being packed for an order; closed when weighed within tolerance, then labelled."""

    __tablename__ = "carton"
    __table_args__ = (
        UniqueConstraint("order_id", "number"),
        one_of("status", CartonStatus),
        CheckConstraint("number >= 1", name="number"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), index=True)
    # Numbered through the order, whatever its shipment.
    number: Mapped[int]
    box: Mapped[str] = mapped_column(String(32))
    status: Mapped[CartonStatus] = mapped_column(
        StrEnumType(CartonStatus, 8), default=CartonStatus.OPEN
    )
    weight_g: Mapped[int | None]
    expected_g: Mapped[int | None]
    # Given when the order is packed: the carton's SSCC and its tracking number.
    sscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    tracking: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Who carries it and how: config's carrier for our labels, else the attached label's.
    carrier: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(64))
    # A carrier's own label, attached by an integration; printed instead of ours.
    carrier_label: Mapped[bytes | None] = mapped_column(LargeBinary)
    carrier_label_format: Mapped[str | None] = mapped_column(String(8))
    label_job_id: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    created_at: Mapped[created]
    closed_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()
    shipment: Mapped[Shipment] = relationship(back_populates="cartons")
    items: Mapped[list[CartonItem]] = relationship(
        back_populates="carton", order_by="CartonItem.id", cascade="all, delete-orphan"
    )


class CartonItem(Base):
    """Units of an order line packed into a carton."""

    __tablename__ = "carton_item"
    __table_args__ = (
        UniqueConstraint("carton_id", "order_line_id"),
        CheckConstraint("qty >= 1", name="qty"),
    )

    id: Mapped[intpk]
    carton_id: Mapped[int] = mapped_column(ForeignKey("carton.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    qty: Mapped[int]

    carton: Mapped[Carton] = relationship(back_populates="items")
    order_line: Mapped[OrderLine] = relationship()


class PackStation(Base):
    """A packing station: the order on its bench, its scale's last reading, and the outcome of
    its last scan. Scans from the station agent's scanner go to the order on the bench; the
    station's page follows `version` to show them."""

    __tablename__ = "pack_station"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    scale_g: Mapped[int | None]
    scale_at: Mapped[datetime | None]
    # good or bad, and what to tell the packer.
    outcome: Mapped[str] = mapped_column(String(8), default="")
    message: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[int] = mapped_column(default=0)


class FloorState(Base):
    """Where a person is in a floor flow (the bin being received into, the count in hand, the
    stop of a pick list): kept here, so a scan queued offline or across a sign-out is applied
    where it was meant, and the flow goes on where it was after signing in again."""

    __tablename__ = "floor_state"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

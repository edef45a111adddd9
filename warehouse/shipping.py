"""Shipping: an order's cartons as a shipment (a shipment's id is its order's); each carton's
printed label scanned back at the dock (a label of another carton is refused, which catches
swapped labels); then the order ships: its units are booked out of the totes they were picked
into, and its reservations are consumed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from warehouse import inventory
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import (
    Carton,
    CartonItem,
    CartonStatus,
    Location,
    Order,
    OrderLine,
    OrderStatus,
    Pick,
    PickList,
    PickListStatus,
    PrintJob,
    Stock,
    User,
)
from warehouse.orders import find_order, get_order, ledger_reference
from warehouse.packing import get_carton
from warehouse.picking import tote_of
from warehouse.reservations import fill_backorders, release_order


@dataclass(frozen=True)
class ShipmentCarton:
    """A carton of a shipment and the print job of the label on it (None before packing)."""

    carton: Carton
    label_job: PrintJob | None

    @property
    def printed_label(self) -> str | None:
        """Whose label the job prints: "carrier", "ours", or None while none is queued."""
        job, carton = self.label_job, self.carton
        if job is None:
            return None
        carriers = (
            carton.carrier_label is not None
            and job.format == carton.carrier_label_format
            and job.document == carton.carrier_label
        )
        return "carrier" if carriers else "ours"


@dataclass(frozen=True)
class Shipment:
    """An order's cartons: a shipment's id is its order's."""

    order: Order
    cartons: list[ShipmentCarton]


def shipment_order(session: Session, order_id: int, *, lock: bool = False) -> Order:
    """The order a shipment id names (see orders.find_order), or NotFound."""
    order = find_order(session, order_id, lock=lock)
    if order is None:
        raise NotFound(f"No shipment has id {order_id}.", code="unknown_shipment")
    return order


def get_shipment(session: Session, order_id: int) -> Shipment:
    """An order's cartons with their items and label jobs, or NotFound."""
    order = shipment_order(session, order_id)
    cartons = session.scalars(
        select(Carton)
        .where(Carton.order_id == order.id)
        .order_by(Carton.number)
        .options(
            selectinload(Carton.items)
            .selectinload(CartonItem.order_line)
            .selectinload(OrderLine.product)
        )
        .execution_options(populate_existing=True)
    ).all()
    job_ids = [c.label_job_id for c in cartons if c.label_job_id is not None]
    jobs = {
        job.id: job for job in session.scalars(select(PrintJob).where(PrintJob.id.in_(job_ids)))
    }
    return Shipment(
        order,
        [ShipmentCarton(c, jobs.get(c.label_job_id) if c.label_job_id else None) for c in cartons],
    )


class LabelMismatch(InvalidInput):
    code = "label_mismatch"


def confirm_label(session: Session, user: User | None, carton_id: int, scanned: str) -> Carton:
    """The label on a carton, scanned at the dock, must be that carton's (its SSCC or its
    tracking number); the order ships when its last carton is confirmed."""
    carton = get_carton(session, carton_id)
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict(f"Carton {carton.number} has shipped already.", code="already_shipped")
    if carton.status != CartonStatus.CLOSED or not carton.sscc:
        raise Conflict(f"Carton {carton.number} is not labelled yet.", code="not_labelled")
    if scanned not in (carton.sscc, carton.tracking):
        raise LabelMismatch(
            "This label belongs to another carton: check the labels were not swapped.",
            field="label",
        )
    carton.status = CartonStatus.SHIPPED
    session.flush()
    cartons = session.scalars(select(Carton).where(Carton.order_id == carton.order_id)).all()
    if all(c.status == CartonStatus.SHIPPED for c in cartons):
        ship_order(session, user, carton.order_id)
    return carton


def load_carton(session: Session, user: User | None, order_id: int, label: str) -> Carton:
    """At the dock, a label scanned for an order: one of its cartons' (by SSCC or tracking
    number), never one scanned before (two cartons with one label) nor another order's."""
    cartons = session.scalars(select(Carton).where(Carton.order_id == order_id)).all()
    if not cartons:
        raise Conflict(f"Order {order_id} has no cartons.", code="not_packed")
    carton = next((c for c in cartons if label in (c.sscc, c.tracking)), None)
    if carton is None:
        other = session.scalar(
            select(Carton).where((Carton.sscc == label) | (Carton.tracking == label))
        )
        where = f"order {other.order_id}" if other is not None else "no carton of this warehouse"
        raise LabelMismatch(
            f"This label is of {where}, not of order {order_id}: check the labels were "
            "not swapped.",
            field="label",
        )
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict(
            f"The label of carton {carton.number} was scanned already: is it on two cartons?",
            code="already_shipped",
        )
    return confirm_label(session, user, carton.id, label)


def ship_by_hand(session: Session, user: User | None, order_id: int) -> Order:
    """A supervisor confirms the hand-over of an order whose cartons are all labelled."""
    cartons = session.scalars(select(Carton).where(Carton.order_id == order_id)).all()
    labelled = (CartonStatus.CLOSED, CartonStatus.SHIPPED)
    if not cartons or any(c.status not in labelled or not c.sscc for c in cartons):
        raise Conflict(f"Order {order_id} is not packed and labelled.", code="not_packed")
    for carton in cartons:
        carton.status = CartonStatus.SHIPPED
    return ship_order(session, user, order_id)


def ship_order(session: Session, user: User | None, order_id: int) -> Order:
    """Book the order's picked units out of their totes and consume its reservations."""
    order = get_order(session, order_id)
    if order.status == OrderStatus.SHIPPED:
        return order
    if order.status != OrderStatus.PACKED:
        raise Conflict(f"Order {order.id} is {order.status}, not packed.", code="not_packed")
    freed = release_order(session, order)
    picks = session.scalars(
        select(Pick)
        .join(Pick.pick_list)
        .join(Pick.order_line)
        .where(
            OrderLine.order_id == order.id,
            PickList.status != PickListStatus.RELEASED,
            Pick.picked > 0,
        )
        .options(
            selectinload(Pick.pick_list).selectinload(PickList.orders),
            selectinload(Pick.stock).selectinload(Stock.product),
        )
    ).all()
    for pick in picks:
        tote = session.scalar(
            select(Location).where(Location.code == tote_of(pick.pick_list, pick))
        )
        assert tote is not None, "picked units are always in a tote"
        inventory.ship_out(
            session, user, pick.stock.product, tote, pick.picked,
            pick.stock.lot, pick.stock.expiry, reference=ledger_reference(order.id),
        )  # fmt: skip
    order.status = OrderStatus.SHIPPED
    session.flush()
    # Units held but never picked (short picks) are free again for waiting orders.
    fill_backorders(session, freed)
    return order

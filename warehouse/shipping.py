"""Shipping: an order leaves in shipments (one, or on a channel that ships partly, one per
part), each its cartons. Each carton's printed label is scanned back at the dock (a label of
another carton is refused, which catches swapped labels); then the shipment ships: what its
cartons hold is booked out of the order's totes, the lines count it as shipped, and their
reservations are consumed. Units the order still waits for stay backordered, and it says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from warehouse import carriers, inventory, printing
from warehouse.carriers import HandOver
from warehouse.channels import Served, serves
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.limits import check_id
from warehouse.models import (
    Carton,
    CartonItem,
    CartonStatus,
    Location,
    Order,
    OrderLine,
    OrderStatus,
    PickListOrder,
    PrintJob,
    Shipment,
    ShipmentStatus,
    Stock,
    User,
    utcnow,
)
from warehouse.orders import get_order, ledger_reference
from warehouse.packing import get_carton
from warehouse.reservations import fill_backorders, lock_products, settle_status, store_reserved


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
class ShipmentDetails:
    """A shipment, its order, and its cartons with their label jobs."""

    shipment: Shipment
    order: Order
    cartons: list[ShipmentCarton]


class LabelMismatch(InvalidInput):
    code = "label_mismatch"


def get_shipment_row(session: Session, shipment_id: int, served: Served = None) -> Shipment:
    """The shipment with this id, or NotFound (also for one of a channel the caller does not
    serve)."""
    shipment = (
        session.get(Shipment, shipment_id, populate_existing=True)
        if check_id(shipment_id)
        else None
    )
    if shipment is not None and served is not None:
        channel_id = session.scalar(select(Order.channel_id).where(Order.id == shipment.order_id))
        shipment = shipment if channel_id is not None and serves(served, channel_id) else None
    if shipment is None:
        raise NotFound(f"No shipment has id {shipment_id}.", code="unknown_shipment")
    return shipment


def shipment_cartons(session: Session, shipment_id: int) -> list[Carton]:
    """A shipment's cartons with their items, read afresh, in number order."""
    return list(
        session.scalars(
            select(Carton)
            .where(Carton.shipment_id == shipment_id)
            .order_by(Carton.number)
            .options(
                selectinload(Carton.items)
                .joinedload(CartonItem.order_line)
                .joinedload(OrderLine.product)
            )
            .execution_options(populate_existing=True)
        )
    )


def current_shipment(session: Session, order_id: int) -> Shipment | None:
    """The order's shipment being packed or waiting at the dock, else its last one."""
    shipments = session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.number)
        .execution_options(populate_existing=True)
    ).all()
    return next((s for s in shipments if s.status != ShipmentStatus.SHIPPED), None) or (
        shipments[-1] if shipments else None
    )


def order_shipments(session: Session, order_id: int) -> list[Shipment]:
    """Every shipment of an order, first first."""
    return list(
        session.scalars(
            select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.number)
        )
    )


def get_shipment(session: Session, shipment_id: int, served: Served = None) -> ShipmentDetails:
    """A shipment with its order, its cartons' items and their label jobs, or NotFound."""
    shipment = get_shipment_row(session, shipment_id, served)
    cartons = shipment_cartons(session, shipment.id)
    jobs = label_jobs(session, cartons)
    return ShipmentDetails(
        shipment,
        get_order(session, shipment.order_id),
        [ShipmentCarton(c, jobs.get(c.id)) for c in cartons],
    )


def failing_labels(session: Session, order_id: int) -> int:
    """How many of the order's labels not shipped yet the printer has not taken."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Carton)
            .join(PrintJob, PrintJob.id == Carton.label_job_id)
            .where(
                Carton.order_id == order_id,
                Carton.status != CartonStatus.SHIPPED,
                printing.not_printed(),
            )
        )
        or 0
    )


def label_jobs(session: Session, cartons: list[Carton]) -> dict[int, PrintJob]:
    """Each carton's current label job, by carton id (cartons without one are left out)."""
    job_ids = [c.label_job_id for c in cartons if c.label_job_id is not None]
    if not job_ids:
        return {}
    jobs = {
        job.id: job for job in session.scalars(select(PrintJob).where(PrintJob.id.in_(job_ids)))
    }
    return {c.id: jobs[c.label_job_id] for c in cartons if c.label_job_id in jobs}


def confirm_label(session: Session, user: User | None, carton_id: int, scanned: str) -> Carton:
    """The label on a carton, scanned at the dock, must be that carton's (its SSCC or its
    tracking number); the shipment ships when its last carton is confirmed."""
    carton = get_carton(session, carton_id)
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict(f"Carton {carton.number} has shipped already.", code="already_shipped")
    # A carton of a shipment reopened keeps its label, but must not leave before the rest:
    # loaded now, the shipment could never be packed again.
    if get_shipment_row(session, carton.shipment_id).status != ShipmentStatus.PACKED:
        raise Conflict(
            f"Order {carton.order_id} is not packed and labelled: load its cartons once it is.",
            code="not_packed",
        )
    if carton.status != CartonStatus.CLOSED or not carton.sscc:
        raise Conflict(f"Carton {carton.number} is not labelled yet.", code="not_labelled")
    if scanned not in (carton.sscc, carton.tracking):
        raise LabelMismatch(
            "This label belongs to another carton: check the labels were not swapped.",
            field="label",
        )
    carton.status = CartonStatus.SHIPPED
    session.flush()
    cartons = shipment_cartons(session, carton.shipment_id)
    if all(c.status == CartonStatus.SHIPPED for c in cartons):
        ship_shipment(session, user, carton.shipment_id)
    return carton


def packed_shipment(session: Session, order_id: int) -> Shipment:
    """The order's shipment waiting at the dock (packed and labelled), or refused."""
    shipment = current_shipment(session, order_id)
    if shipment is None:
        raise Conflict(f"Order {order_id} has no cartons.", code="not_packed")
    if shipment.status == ShipmentStatus.SHIPPED:
        raise Conflict(
            f"Everything packed for order {order_id} has shipped already.",
            code="already_shipped",
        )
    if shipment.status != ShipmentStatus.PACKED:
        raise Conflict(f"Order {order_id} is not packed and labelled.", code="not_packed")
    return shipment


def labelled(session: Session, label: str) -> Carton | None:
    """The carton whose label (SSCC or tracking number) this is."""
    return session.scalar(
        select(Carton).where((Carton.sscc == label) | (Carton.tracking == label)).limit(1)
    )


def load_carton(session: Session, user: User | None, order_id: int, label: str) -> Carton:
    """At the dock, a label scanned for an order: one of its cartons' (by SSCC or tracking
    number), never one scanned before (two cartons with one label) nor another order's."""
    cartons = session.scalars(
        select(Carton)
        .join(Carton.shipment)
        .where(Carton.order_id == order_id, Shipment.status != ShipmentStatus.SHIPPED)
    ).all()
    if not cartons:
        shipped = current_shipment(session, order_id)
        if shipped is not None and shipped.status == ShipmentStatus.SHIPPED:
            raise Conflict(
                f"Everything packed for order {order_id} has shipped already.",
                code="already_shipped",
            )
        raise Conflict(f"Order {order_id} has no cartons.", code="not_packed")
    carton = next((c for c in cartons if label in (c.sscc, c.tracking)), None)
    if carton is None:
        other = labelled(session, label)
        where = f"order {other.order_id}" if other is not None else "no carton of this warehouse"
        raise LabelMismatch(
            f"This label is of {where}, not of order {order_id}: check the labels were "
            "not swapped, and that a carton reopened has its new label.",
            field="label",
        )
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict(
            f"The label of carton {carton.number} was scanned already: is it on two cartons?",
            code="already_shipped",
        )
    return confirm_label(session, user, carton.id, label)


def ship_by_hand(
    session: Session,
    user: User | None,
    shipment_id: int,
    hand_over: HandOver = carriers.NOTHING_SAID,
) -> Shipment:
    """A supervisor confirms the hand-over of a shipment whose cartons are all labelled,
    with what the carrier's paperwork says (`hand_over`: its carrier, service and tracking
    numbers; an empty one says nothing). A shipment shipped already is answered as it is,
    unless the hand-over would change it."""
    shipment = get_shipment_row(session, shipment_id)
    cartons = shipment_cartons(session, shipment.id)
    if shipment.status == ShipmentStatus.SHIPPED:
        if not carriers.recorded(cartons, hand_over):
            raise Conflict(
                f"Shipment {shipment.id} has shipped already: its cartons are as they left.",
                code="already_shipped",
            )
        return shipment
    labelled = (CartonStatus.CLOSED, CartonStatus.SHIPPED)
    if (
        shipment.status != ShipmentStatus.PACKED
        or not cartons
        or any(c.status not in labelled or not c.sscc for c in cartons)
    ):
        raise Conflict(f"Order {shipment.order_id} is not packed and labelled.", code="not_packed")
    carriers.record_hand_over(session, cartons, hand_over)
    for carton in cartons:
        carton.status = CartonStatus.SHIPPED
    return ship_shipment(session, user, shipment.id)


def _totes_of(session: Session, order_id: int) -> list[Location]:
    """The totes the order's units were picked into."""
    codes = session.scalars(
        select(PickListOrder.tote).where(
            PickListOrder.order_id == order_id, PickListOrder.tote.is_not(None)
        )
    ).all()
    return list(session.scalars(select(Location).where(Location.code.in_(set(codes)))))


def ship_shipment(session: Session, user: User | None, shipment_id: int) -> Shipment:
    """Book what the shipment's cartons hold out of the order's totes; the lines count it as
    shipped and give up its reservation. When every unit has shipped the order has shipped;
    otherwise (a channel that ships partly) it waits for the rest, as backorders."""
    shipment = get_shipment_row(session, shipment_id)
    if shipment.status == ShipmentStatus.SHIPPED:
        return shipment
    order = get_order(session, shipment.order_id)
    if order.status != OrderStatus.PACKED or shipment.status != ShipmentStatus.PACKED:
        raise Conflict(f"Order {order.id} is {order.status}, not packed.", code="not_packed")
    units: dict[int, int] = {}
    for carton in shipment_cartons(session, shipment.id):
        for item in carton.items:
            units[item.order_line_id] = units.get(item.order_line_id, 0) + item.qty
    lines = [line for line in order.lines if units.get(line.id)]
    lock_products(session, {line.product_id for line in lines})
    store_reserved(session, {line.product_id: -units[line.id] for line in lines})
    totes = _totes_of(session, order.id)
    for line in lines:
        line.reserved -= units[line.id]
        line.shipped += units[line.id]
        _book_out(session, user, line, units[line.id], totes, ledger_reference(order.id))
    shipment.status, shipment.shipped_at = ShipmentStatus.SHIPPED, utcnow()
    if all(line.shipped == line.qty for line in order.lines):
        order.status = OrderStatus.SHIPPED
        session.flush()
        return shipment
    # Part of it: the order waits for the rest as a backorder, filled by priority.
    order.status = OrderStatus.BACKORDERED
    for line in order.lines:
        line.backordered = line.reserved < line.unshipped
    settle_status(order)
    session.flush()
    fill_backorders(session, {line.product_id for line in order.lines if line.backordered})
    return shipment


def _book_out(
    session: Session,
    user: User | None,
    line: OrderLine,
    units: int,
    totes: list[Location],
    reference: str,
) -> None:
    """Book `units` of the line's product out of the totes that hold them, lot by lot."""
    stocks = session.scalars(
        select(Stock)
        .where(
            Stock.product_id == line.product_id,
            Stock.location_id.in_([tote.id for tote in totes]),
            Stock.qty > 0,
        )
        .order_by(Stock.expiry.is_(None), Stock.expiry, Stock.id)
        .options(selectinload(Stock.location), selectinload(Stock.product))
        .execution_options(populate_existing=True)
    ).all()
    left = units
    for stock in stocks:
        take = min(stock.qty, left)
        inventory.ship_out(
            session, user, stock.product, stock.location, take, stock.lot, stock.expiry,
            reference=reference,
        )  # fmt: skip
        left -= take
        if left == 0:
            return
    raise Conflict(
        f"The totes of order {line.order_id} hold {units - left} of {line.product.sku}, "
        f"not the {units} packed: count the totes.",
        code="totes_short",
    )

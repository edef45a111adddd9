"""Packing: each picked unit scanned into a carton, cartons weighed and closed, the order
packed when every picked unit is in a closed carton.

A carton whose scale weight is off what its items and box should weigh is held for a
re-check before any label prints. One carton of an order is open at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from labels.barcodes import LabelError
from labels.carrier import check_label, check_tracking
from labels.shipping import Address as LabelAddress
from labels.shipping import ShippingLabel, to_pdf, to_zpl
from labels.slip import PackingSlip, SlipLine
from labels.slip import to_pdf as slip_pdf
from labels.sscc import sscc
from warehouse.config import BoxConfig, Config, PackingConfig
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import (
    Carton,
    CartonItem,
    Order,
    OrderLine,
    Pick,
    PickList,
    PrintJob,
    utcnow,
)
from warehouse.printing import queue_job, replace
from warehouse.reservations import rows_changed

MAX_ORDER_ID = 2**31 - 1


class WrongItem(InvalidInput):
    """An item the order does not want (any more) in its cartons."""


@dataclass(frozen=True)
class LineToPack:
    line: OrderLine
    picked: int
    packed: int

    @property
    def left(self) -> int:
        return self.picked - self.packed


def get_carton(session: Session, carton_id: int) -> Carton:
    """A carton with its items, or NotFound."""
    carton = session.scalar(
        select(Carton)
        .where(Carton.id == carton_id)
        .options(
            selectinload(Carton.items)
            .selectinload(CartonItem.order_line)
            .selectinload(OrderLine.product)
        )
    )
    if carton is None:
        raise NotFound(f"No carton has id {carton_id}.", code="unknown_carton")
    return carton


def lines_to_pack(session: Session, order: Order) -> list[LineToPack]:
    """Each line of the order: units picked (on lists not released) and units packed."""
    picked: dict[int, int] = {
        line_id: units
        for line_id, units in session.execute(
            select(Pick.order_line_id, func.sum(Pick.picked))
            .join(Pick.pick_list)
            .join(Pick.order_line)
            .where(OrderLine.order_id == order.id, PickList.status != "released")
            .group_by(Pick.order_line_id)
        )
    }
    packed: dict[int, int] = {
        line_id: units
        for line_id, units in session.execute(
            select(CartonItem.order_line_id, func.sum(CartonItem.qty))
            .join(CartonItem.carton)
            .where(Carton.order_id == order.id)
            .group_by(CartonItem.order_line_id)
        )
    }
    return [
        LineToPack(line, int(picked.get(line.id) or 0), int(packed.get(line.id) or 0))
        for line in order.lines
    ]


def get_order(session: Session, order_id: int) -> Order:
    """An order with its lines and their products, or NotFound."""
    order = None
    # An id past the column's range names no order (and PostgreSQL would refuse to compare).
    if 1 <= order_id <= MAX_ORDER_ID:
        order = session.scalar(
            select(Order)
            .where(Order.id == order_id)
            .options(selectinload(Order.lines).selectinload(OrderLine.product))
        )
    if order is None:
        raise NotFound(f"No order has id {order_id}.", code="unknown_order")
    return order


def _still_picking(session: Session, order: Order) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Pick)
            .join(Pick.pick_list)
            .join(Pick.order_line)
            .where(
                OrderLine.order_id == order.id,
                Pick.status == "open",
                PickList.status.in_(("open", "picking")),
            )
        )
    )


def ready_to_pack(session: Session, order_id: int) -> Order:
    """An order whose picking is done and that is not packed yet; refused otherwise."""
    order = get_order(session, order_id)
    if order.status in ("packed", "shipped"):
        raise Conflict(f"Order {order.id} is {order.status} already.", code="already_packed")
    if order.status != "picking" or _still_picking(session, order):
        raise Conflict(f"Order {order.id} is not picked yet ({order.status}).", code="not_picked")
    return order


def open_carton(session: Session, order_id: int, box: str, boxes: dict[str, BoxConfig]) -> Carton:
    """A new carton for a picked order; refused while another of its cartons is open."""
    if box not in boxes:
        raise InvalidInput(
            f"No box type {box!r}; config.toml has {', '.join(sorted(boxes))}.", field="box"
        )
    order = ready_to_pack(session, order_id)
    cartons = session.scalars(select(Carton).where(Carton.order_id == order.id)).all()
    if any(c.status in ("open", "held") for c in cartons):
        raise Conflict("Close the open carton first.", code="carton_open")
    if all(line.left == 0 for line in lines_to_pack(session, order)):
        raise Conflict(f"Everything of order {order.id} is packed.", code="all_packed")
    carton = Carton(order_id=order.id, number=len(cartons) + 1, box=box, status="open")
    session.add(carton)
    session.flush()
    return carton


def pack_item(session: Session, carton_id: int, sku: str, units: int) -> CartonItem:
    """Put scanned units into an open carton: refused for an item the order does not
    want, or one unit more than was picked for it."""
    carton = get_carton(session, carton_id)
    if carton.status != "open":
        raise Conflict(f"Carton {carton.number} is {carton.status}.", code="carton_not_open")
    order = get_order(session, carton.order_id)
    line = next(
        (each for each in lines_to_pack(session, order) if each.line.product.sku == sku), None
    )
    if line is None:
        raise WrongItem(
            f"{sku} is not in order {order.id}: put it aside.", field="sku", code="wrong_item"
        )
    if units > line.left:
        raise WrongItem(
            f"One too many: {line.left} of {sku} left to pack, not {units}.",
            field="sku",
            code="too_many",
        )
    item = next((i for i in carton.items if i.order_line_id == line.line.id), None)
    if item is None:
        item = CartonItem(order_line_id=line.line.id, qty=units)
        carton.items.append(item)
    else:
        item.qty += units
    session.flush()
    return item


def expected_weight_g(carton: Carton, boxes: dict[str, BoxConfig]) -> int:
    """What the carton should weigh: its items' weights and the empty box."""
    items = sum((i.order_line.product.weight_g or 0) * i.qty for i in carton.items)
    return items + boxes[carton.box].weight_g


def close_carton(
    session: Session,
    carton_id: int,
    weight_g: int,
    boxes: dict[str, BoxConfig],
    rules: PackingConfig,
) -> Carton:
    """Weigh and close a carton; off the expected weight, it is held for a re-check."""
    carton = get_carton(session, carton_id)
    if carton.status not in ("open", "held"):
        raise Conflict(f"Carton {carton.number} is {carton.status}.", code="carton_not_open")
    if not carton.items:
        raise Conflict("The carton is empty: pack an item first.", code="empty_carton")
    if not 1 <= weight_g <= rules.max_carton_kg * 1000:
        raise InvalidInput(
            f"{weight_g} g is not a carton weight: 1 g to {rules.max_carton_kg:g} kg.",
            field="weight_g",
        )
    expected = expected_weight_g(carton, boxes)
    allowed = max(rules.weight_tolerance_g, expected * rules.weight_tolerance)
    carton.weight_g, carton.expected_g = weight_g, expected
    carton.status = "held" if abs(weight_g - expected) > allowed else "closed"
    carton.closed_at = utcnow()
    session.flush()
    return carton


def reopen_carton(session: Session, carton_id: int) -> Carton:
    """A supervisor opens a closed or held carton again (before it ships)."""
    carton = get_carton(session, carton_id)
    if carton.status == "shipped":
        raise Conflict("The carton has shipped.", code="already_shipped")
    if not rows_changed(
        session,
        update(Carton)
        .where(Carton.id == carton.id, Carton.status.in_(("closed", "held")))
        .values(status="open"),
    ):
        raise Conflict(f"Carton {carton.number} is already open.", code="carton_open")
    session.refresh(carton)
    return carton


def order_is_packed(session: Session, order_id: int) -> bool:
    """Every picked unit is in a carton and every carton is closed."""
    order = get_order(session, order_id)
    cartons = session.scalars(select(Carton).where(Carton.order_id == order.id)).all()
    return (
        bool(cartons)
        and all(c.status == "closed" for c in cartons)
        and all(line.left == 0 for line in lines_to_pack(session, order))
        and not _still_picking(session, order)
    )


def tracking_number(carton_id: int) -> str:
    """The carrier-neutral shipment number of a carton (a carrier's label replaces it)."""
    return f"WH{carton_id:010d}"


def _addresses(order: Order, config: Config) -> tuple[LabelAddress, LabelAddress]:
    """Ship-from (the warehouse's, from config.toml) and ship-to (the order's)."""
    home = config.labels.ship_from
    return (
        LabelAddress(
            home.name, home.street1, home.street2, home.city,
            home.region, home.postal_code, home.country,
        ),
        LabelAddress(
            order.ship_name, order.ship_street1, order.ship_street2, order.ship_city,
            order.ship_region, order.ship_postal_code, order.ship_country,
        ),
    )  # fmt: skip


def label_document(
    carton: Carton, order: Order, cartons: int, config: Config, format: str, dpi: int | None = None
) -> bytes:
    """A carton's shipping label as ZPL or as a 4x6 in PDF page."""
    ship_from, ship_to = _addresses(order, config)
    label = ShippingLabel(
        ship_from=ship_from,
        ship_to=ship_to,
        order_ref=order.external_id,
        channel=order.channel.code,
        carton_no=carton.number,
        cartons=cartons,
        weight_kg=(carton.weight_g or 0) / 1000,
        tracking=carton.tracking or "",
        sscc=carton.sscc or "",
    )  # fmt: skip
    if format == "pdf":
        return to_pdf(label)
    return to_zpl(label, dpi or config.labels.dpi).encode()


def order_code(order_id: int) -> str:
    """The warehouse's own code of an order, as its barcodes carry it."""
    return f"O{order_id:08d}"


def packing_slip(session: Session, order_id: int, config: Config) -> bytes:
    """The order's packing slip as a PDF on the configured paper: what its cartons hold."""
    order = get_order(session, order_id)
    ship_from, ship_to = _addresses(order, config)
    slip = PackingSlip(
        ship_from=ship_from,
        ship_to=ship_to,
        order_code=order_code(order.id),
        order_ref=order.external_id,
        channel=order.channel.code,
        lines=[
            SlipLine(each.line.product.sku, each.line.product.name, each.packed)
            for each in lines_to_pack(session, order)
            if each.packed
        ],
    )  # fmt: skip
    return slip_pdf(slip, config.labels.slip_paper)


def finish_packing(session: Session, order_id: int, config: Config, printer: str) -> list[PrintJob]:
    """The order is packed: each carton gets its SSCC and tracking number (a carrier's, where
    one is attached), and one label job per carton is stored for the station's printer: the
    carrier's label where the printer prints its format, else the warehouse's own."""
    if not order_is_packed(session, order_id):
        raise Conflict(
            f"Order {order_id} is not packed: every unit in a closed carton first.",
            code="not_packed",
        )
    taken = rows_changed(
        session,
        update(Order)
        .where(Order.id == order_id, Order.status == "picking")
        .values(status="packed"),
    )
    if not taken:
        raise Conflict(f"Order {order_id} is packed already.", code="already_packed")
    order = session.scalars(
        select(Order).where(Order.id == order_id).options(selectinload(Order.channel))
    ).one()
    # Read again now that the order row is ours: a carrier's label attached while this
    # transaction waited for it is on the cartons loaded before.
    cartons = session.scalars(
        select(Carton)
        .where(Carton.order_id == order_id)
        .order_by(Carton.number)
        .execution_options(populate_existing=True)
    ).all()
    jobs = []
    for carton in cartons:
        carton.sscc = sscc(config.labels.company_prefix, carton.id)
        # A carrier's tracking number, attached before packing, is the one its label bears.
        if carton.tracking is None:
            carton.tracking = tracking_number(carton.id)
        job = _queue_label(session, config, printer, order, carton, len(cartons))
        carton.label_job_id = job.id
        jobs.append(job)
    session.flush()
    return jobs


def shipment_label(
    session: Session, order_id: int, number: int, config: Config, format: str
) -> bytes:
    """The label of carton `number` of a labelled order (a shipment is an order's cartons)."""
    order = _shipment_order(session, order_id)
    cartons = session.scalars(
        select(Carton).where(Carton.order_id == order_id).order_by(Carton.number)
    ).all()
    carton = next((c for c in cartons if c.number == number), None)
    if carton is None:
        raise NotFound(f"Shipment {order_id} has no carton {number}.", code="unknown_carton")
    if not carton.sscc:
        raise Conflict(f"Carton {number} is not labelled yet.", code="not_labelled")
    if carton.carrier_label is not None and carton.carrier_label_format == format:
        return carton.carrier_label
    return label_document(carton, order, len(cartons), config, format, dpi=203)


# The label formats each kind of printer prints: a raw port-9100 printer takes ZPL, a
# handheld's browser opens PDFs, and a CUPS queue takes either.
PRINTER_FORMATS: dict[str, tuple[str, ...]] = {
    "tcp": ("zpl",),
    "browser": ("pdf",),
    "cups": ("zpl", "pdf"),
}


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


def _queue_label(
    session: Session, config: Config, printer: str, order: Order, carton: Carton, cartons: int
) -> PrintJob:
    """Queue a carton's label: the carrier's where the printer prints its format, else the
    warehouse's own in a format it does print (bearing the carton's tracking number, which
    is the carrier's where one is attached, so the dock scan still matches)."""
    kind = config.printers[printer].kind if printer in config.printers else ""
    title = f"label, carton {carton.number} of {cartons}, order {order.external_id}"
    carriers = carton.carrier_label_format
    if carton.carrier_label is not None and carriers in PRINTER_FORMATS.get(kind, ()):
        return queue_job(
            session, config.printers, printer, str(carriers), carton.carrier_label,
            f"carrier {title}",
        )  # fmt: skip
    format = "pdf" if kind == "browser" else "zpl"
    if carton.carrier_label is not None:
        title += f" (ours: {printer} cannot print the carrier's {str(carriers).upper()})"
    document = label_document(carton, order, cartons, config, format)
    return queue_job(session, config.printers, printer, format, document, title)


def _shipment_order(session: Session, order_id: int, lock: bool = False) -> Order:
    query = (
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.channel))
        .execution_options(populate_existing=True)
    )
    order = session.scalars(query.with_for_update() if lock else query).first()
    if order is None:
        raise NotFound(f"No shipment has id {order_id}.", code="unknown_shipment")
    return order


def get_shipment(session: Session, order_id: int) -> Shipment:
    """An order's cartons with their items and label jobs, or NotFound."""
    order = _shipment_order(session, order_id)
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


def _is_ours(tracking: str) -> bool:
    """A tracking number of the warehouse's own (tracking_number's) shape."""
    digits = tracking[2:]
    return tracking[:2] == "WH" and digits.isdigit() and tracking_number(int(digits)) == tracking


def attach_carrier_label(
    session: Session,
    order_id: int,
    number: int,
    document: bytes,
    format: str,
    tracking: str,
    config: Config,
) -> ShipmentCarton:
    """Attach a carrier's own label (PDF or ZPL) to carton `number` of a shipment; its
    tracking number replaces the carton's. Once the carton's label is queued, the new one is
    queued on the same printer in its place. Refused once the carton has shipped."""
    try:
        check_label(document, format)
    except LabelError as bad:
        raise InvalidInput(bad.message, field="label", code="not_a_label") from None
    try:
        check_tracking(tracking)
    except LabelError as bad:
        raise InvalidInput(bad.message, field="tracking") from None
    # finish_packing takes the order row too: a label attached meanwhile is either seen by
    # it, or finds the label job it queued and replaces it.
    order = _shipment_order(session, order_id, lock=True)
    carton = session.scalars(
        select(Carton)
        .where(Carton.order_id == order.id, Carton.number == number)
        .execution_options(populate_existing=True)
    ).first()
    if carton is None:
        raise NotFound(f"Shipment {order_id} has no carton {number}.", code="unknown_carton")
    if carton.status == "shipped" or order.status == "shipped":
        raise Conflict(f"Carton {number} has shipped already.", code="already_shipped")
    if order.status == "cancelled":
        raise Conflict(f"Order {order.id} is cancelled.", code="order_cancelled")
    # A number of our own shape would collide with the carton it is made for, at packing.
    if _is_ours(tracking) and tracking != tracking_number(carton.id):
        raise InvalidInput(
            f"{tracking} is one of the warehouse's own numbers, not a carrier's.",
            field="tracking",
        )
    # The dock matches a scan against both, so neither may name another carton.
    if session.scalar(
        select(Carton.id).where(
            (Carton.tracking == tracking) | (Carton.sscc == tracking), Carton.id != carton.id
        )
    ):
        raise Conflict(
            f"Tracking number {tracking} is on another carton already.",
            field="tracking",
            code="tracking_taken",
        )
    job = session.get(PrintJob, carton.label_job_id) if carton.label_job_id else None
    if (carton.carrier_label, carton.carrier_label_format, carton.tracking) == (
        document,
        format,
        tracking,
    ):
        # The same label again (a retried request): nothing more to print.
        return ShipmentCarton(carton, job)
    if not rows_changed(
        session,
        update(Carton)
        .where(Carton.id == carton.id, Carton.status != "shipped")
        .values(carrier_label=document, carrier_label_format=format, tracking=tracking),
    ):
        raise Conflict(f"Carton {number} has shipped already.", code="already_shipped")
    session.refresh(carton)
    if job is not None:
        # Our label, if it has not gone to the printer yet, now never will.
        replace(session, job.id)
        cartons = session.scalar(
            select(func.count()).select_from(Carton).where(Carton.order_id == order.id)
        )
        job = _queue_label(session, config, job.printer, order, carton, int(cartons or 0))
        carton.label_job_id = job.id
        session.flush()
    return ShipmentCarton(carton, job)

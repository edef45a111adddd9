"""Labelling: once an order is packed, each carton gets its SSCC and tracking number and one
label job for the station's printer; the label documents themselves (4x6 in shipping labels in
ZPL or PDF, the packing slip); and a carrier's own label attached to a carton in place of ours.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from labels.barcodes import LabelError
from labels.carrier import check_label
from labels.printers import PRINTS, LabelFormat, PrinterKind, label_format_for
from labels.shipping import Address as LabelAddress
from labels.shipping import ShippingLabel, to_pdf, to_zpl
from labels.slip import PackingSlip, SlipLine
from labels.slip import to_pdf as slip_pdf
from labels.sscc import sscc
from warehouse.carriers import check_name, check_tracking_for, label_ours
from warehouse.config import Config
from warehouse.db import insert_or_skip, rows_changed
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import (
    Carton,
    CartonStatus,
    Counter,
    Order,
    OrderStatus,
    PrintJob,
    ShipmentStatus,
)
from warehouse.orders import find_order, get_order, move_on
from warehouse.packing import get_carton, open_shipment, order_is_packed
from warehouse.printing import queue_job, replace
from warehouse.scanning import order_code
from warehouse.shipping import (
    ShipmentCarton,
    current_shipment,
    get_shipment_row,
    shipment_cartons,
)


def next_serial(session: Session) -> int:
    """A serial no label has had: SSCCs and our tracking numbers are made from it, so a carton
    labelled again gets new ones. Counted under the counter row's lock."""
    session.execute(insert_or_skip(session, Counter, ["name"]), {"name": "sscc", "value": 0})
    return int(
        session.execute(
            update(Counter)
            .where(Counter.name == "sscc")
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        ).scalar_one()
    )


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
    carton: Carton,
    order: Order,
    place: tuple[int, int],
    config: Config,
    format: LabelFormat,
    dpi: int | None = None,
) -> bytes:
    """A carton's shipping label as ZPL or as a 4x6 in PDF page; `place` is (n, m) of
    "carton n of m" in its shipment."""
    ship_from, ship_to = _addresses(order, config)
    label = ShippingLabel(
        ship_from=ship_from,
        ship_to=ship_to,
        order_ref=order.external_id,
        channel=order.channel.code,
        carton_no=place[0],
        cartons=place[1],
        weight_kg=(carton.weight_g or 0) / 1000,
        tracking=carton.tracking or "",
        sscc=carton.sscc or "",
    )  # fmt: skip
    if format == LabelFormat.PDF:
        return to_pdf(label)
    return to_zpl(label, dpi or config.labels.dpi).encode()


def packing_slip(session: Session, order_id: int, config: Config) -> bytes:
    """The packing slip of the order's shipment being packed (or its last one), as a PDF on
    the configured paper: what its cartons hold."""
    order = get_order(session, order_id)
    shipment = current_shipment(session, order.id)
    held: dict[int, int] = {}
    for carton in shipment.cartons if shipment is not None else []:
        for item in carton.items:
            held[item.order_line_id] = held.get(item.order_line_id, 0) + item.qty
    ship_from, ship_to = _addresses(order, config)
    slip = PackingSlip(
        ship_from=ship_from,
        ship_to=ship_to,
        order_code=order_code(config, order.id),
        order_ref=order.external_id,
        channel=order.channel.code,
        lines=[
            SlipLine(line.product.sku, line.product.name, held[line.id])
            for line in order.lines
            if held.get(line.id)
        ],
    )  # fmt: skip
    return slip_pdf(slip, config.labels.slip_paper)


def finish_packing(session: Session, order_id: int, config: Config, printer: str) -> list[PrintJob]:
    """The order's shipment is packed: each carton without a label gets its SSCC and tracking
    number (a carrier's, where one is attached), and one label job for the station's printer:
    the carrier's label where the printer prints its format, else the warehouse's own."""
    if not order_is_packed(session, order_id):
        raise Conflict(
            f"Order {order_id} is not packed: every unit in a closed carton first.",
            code="not_packed",
        )
    if not move_on(session, order_id, OrderStatus.PICKING, OrderStatus.PACKED):
        raise Conflict(f"Order {order_id} is packed already.", code="already_packed")
    order = get_order(session, order_id)
    shipment = open_shipment(session, order)
    # Read again now that the order row is ours: a carrier's label attached while this
    # transaction waited for it is on the cartons loaded before.
    cartons = shipment_cartons(session, shipment.id)
    jobs = []
    for position, carton in enumerate(cartons, start=1):
        if carton.sscc is not None:
            continue  # labelled before the shipment was reopened, and still standing
        serial = next_serial(session)
        carton.sscc = sscc(config.labels.company_prefix, serial)
        # A carrier's tracking number, attached before packing, is the one its label bears.
        if carton.tracking is None:
            label_ours(carton, serial, config.shipping)
        job = _queue_label(session, config, printer, order, carton, (position, len(cartons)))
        carton.label_job_id = job.id
        jobs.append(job)
    shipment.status = ShipmentStatus.PACKED
    session.flush()
    return jobs


def _queue_label(
    session: Session,
    config: Config,
    printer: str,
    order: Order,
    carton: Carton,
    place: tuple[int, int],
) -> PrintJob:
    """Queue a carton's label: the carrier's where the printer prints its format, else the
    warehouse's own in a format it does print (bearing the carton's tracking number, which
    is the carrier's where one is attached, so the dock scan still matches)."""
    known = config.printers.get(printer)
    kind = known.kind if known is not None else PrinterKind.TCP
    title = f"label, carton {place[0]} of {place[1]}, order {order.external_id}"
    carriers = carton.carrier_label_format
    if carton.carrier_label is not None and carriers in PRINTS[kind]:
        return queue_job(
            session, config.printers, printer, LabelFormat(carriers), carton.carrier_label,
            f"carrier {title}",
        )  # fmt: skip
    format = label_format_for(kind)
    if carton.carrier_label is not None:
        title += f" (ours: {printer} cannot print the carrier's {str(carriers).upper()})"
    document = label_document(carton, order, place, config, format)
    return queue_job(session, config.printers, printer, format, document, title)


def _carton_of(
    session: Session, shipment_id: int, number: int | None
) -> tuple[Carton, tuple[int, int]]:
    """Carton `number` of a shipment (its first when None) and its place in it."""
    cartons = shipment_cartons(session, shipment_id)
    for position, carton in enumerate(cartons, start=1):
        if number is None or carton.number == number:
            return carton, (position, len(cartons))
    raise NotFound(
        f"Shipment {shipment_id} has no carton {number or ''}.".replace(" .", "."),
        code="unknown_carton",
    )


def shipment_label(
    session: Session, shipment_id: int, number: int | None, config: Config, format: LabelFormat
) -> bytes:
    """The label of carton `number` of a labelled shipment (its first when None)."""
    shipment = get_shipment_row(session, shipment_id)
    carton, place = _carton_of(session, shipment.id, number)
    if not carton.sscc:
        raise Conflict(f"Carton {carton.number} is not labelled yet.", code="not_labelled")
    if carton.carrier_label is not None and carton.carrier_label_format == format:
        return carton.carrier_label
    order = get_order(session, shipment.order_id)
    return label_document(carton, order, place, config, format, dpi=203)


def attach_carrier_label(
    session: Session,
    shipment_id: int,
    number: int,
    document: bytes,
    format: LabelFormat,
    tracking: str,
    config: Config,
    carrier: str,
    service: str | None = None,
) -> ShipmentCarton:
    """Attach a carrier's own label (PDF or ZPL) to carton `number` of a shipment; its
    tracking number, carrier and service replace the carton's. Once the carton's label is
    queued, the new one is queued on the same printer in its place. Refused once the carton
    has shipped."""
    try:
        check_label(document, format)
    except LabelError as bad:
        raise InvalidInput(bad.message, field="label", code="not_a_label") from None
    check_name(carrier, "carrier")
    service = check_name(service, "service") if service else None
    shipment = get_shipment_row(session, shipment_id)
    # finish_packing takes the order row too: a label attached meanwhile is either seen by
    # it, or finds the label job it queued and replaces it.
    order = find_order(session, shipment.order_id, lock=True)
    assert order is not None
    carton, place = _carton_of(session, shipment.id, number)
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict(f"Carton {number} has shipped already.", code="already_shipped")
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(f"Order {order.id} is cancelled.", code="order_cancelled")
    check_tracking_for(session, carton, tracking, "tracking")
    job = session.get(PrintJob, carton.label_job_id) if carton.label_job_id else None
    if not rows_changed(
        session,
        update(Carton)
        .where(Carton.id == carton.id, Carton.status != CartonStatus.SHIPPED)
        .values(
            carrier_label=document, carrier_label_format=format, tracking=tracking,
            carrier=carrier, service=service,
        ),
    ):  # fmt: skip
        raise Conflict(f"Carton {number} has shipped already.", code="already_shipped")
    same_label = (carton.carrier_label, carton.carrier_label_format, carton.tracking) == (
        document,
        format,
        tracking,
    )
    session.refresh(carton)
    if same_label:
        # The same label again (a retried request, or a carrier's name put right): nothing
        # more to print.
        return ShipmentCarton(carton, job)
    if job is not None:
        # Our label, if it has not gone to the printer yet, now never will.
        replace(session, job.id)
        job = _queue_label(session, config, job.printer, order, carton, place)
        carton.label_job_id = job.id
        session.flush()
    return ShipmentCarton(carton, job)


def label_to(session: Session, carton_id: int, printer: str, config: Config) -> PrintJob:
    """A labelled carton's label sent to another printer, in the format that printer prints
    (a packer whose printer failed takes another, or this handheld's PDF); its job still
    waiting is replaced, so one label prints."""
    if printer not in config.printers:
        raise InvalidInput(f"No printer is named {printer!r} in config.toml.", field="printer")
    carton = get_carton(session, carton_id)
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict(f"Carton {carton.number} has shipped already.", code="already_shipped")
    if not carton.sscc:
        raise Conflict(f"Carton {carton.number} is not labelled yet.", code="not_labelled")
    _, place = _carton_of(session, carton.shipment_id, carton.number)
    if carton.label_job_id is not None:
        replace(session, carton.label_job_id)
    job = _queue_label(session, config, printer, get_order(session, carton.order_id), carton, place)
    carton.label_job_id = job.id
    session.flush()
    return job

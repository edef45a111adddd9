"""Packing: each picked unit scanned into a carton, cartons weighed and closed, the order
packed when every picked unit is in a closed carton.

A carton whose scale weight is off what its items and box should weigh is held for a
re-check before any label prints. One carton of an order is open at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from labels.shipping import Address as LabelAddress
from labels.shipping import ShippingLabel, to_pdf, to_zpl
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
from warehouse.printing import queue_job
from warehouse.reservations import rows_changed


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


def _order(session: Session, order_id: int) -> Order:
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


def open_carton(session: Session, order_id: int, box: str, boxes: dict[str, BoxConfig]) -> Carton:
    """A new carton for a picked order; refused while another of its cartons is open."""
    if box not in boxes:
        raise InvalidInput(
            f"No box type {box!r}; config.toml has {', '.join(sorted(boxes))}.", field="box"
        )
    order = _order(session, order_id)
    if order.status != "picking" or _still_picking(session, order):
        raise Conflict(f"Order {order.id} is not picked yet ({order.status}).", code="not_picked")
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
    order = _order(session, carton.order_id)
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
    order = _order(session, order_id)
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


def label_document(
    carton: Carton, order: Order, cartons: int, config: Config, format: str, dpi: int | None = None
) -> bytes:
    """A carton's shipping label as ZPL or as a 4x6 in PDF page."""
    ship_from = config.labels.ship_from
    label = ShippingLabel(
        ship_from=LabelAddress(
            ship_from.name, ship_from.street1, ship_from.street2, ship_from.city,
            ship_from.region, ship_from.postal_code, ship_from.country,
        ),
        ship_to=LabelAddress(
            order.ship_name, order.ship_street1, order.ship_street2, order.ship_city,
            order.ship_region, order.ship_postal_code, order.ship_country,
        ),
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


def finish_packing(session: Session, order_id: int, config: Config, printer: str) -> list[PrintJob]:
    """The order is packed: each carton gets its SSCC and tracking number, and one label
    job per carton is stored for the station's printer (a carrier's label where attached)."""
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
    cartons = session.scalars(
        select(Carton).where(Carton.order_id == order_id).order_by(Carton.number)
    ).all()
    kind = config.printers[printer].kind if printer in config.printers else ""
    format = "pdf" if kind == "browser" else "zpl"
    jobs = []
    for carton in cartons:
        carton.sscc = sscc(config.labels.company_prefix, carton.id)
        carton.tracking = tracking_number(carton.id)
        if carton.carrier_label is not None:
            document, doc_format = carton.carrier_label, carton.carrier_label_format or "pdf"
        else:
            document, doc_format = (
                label_document(carton, order, len(cartons), config, format),
                format,
            )
        job = queue_job(
            session, config.printers, printer, doc_format, document,
            f"label, carton {carton.number} of {len(cartons)}, order {order.external_id}",
        )  # fmt: skip
        carton.label_job_id = job.id
        jobs.append(job)
    session.flush()
    return jobs


def shipment_label(
    session: Session, order_id: int, number: int, config: Config, format: str
) -> bytes:
    """The label of carton `number` of a labelled order (a shipment is an order's cartons)."""
    order = session.scalars(
        select(Order).where(Order.id == order_id).options(selectinload(Order.channel))
    ).first()
    if order is None:
        raise NotFound(f"No shipment has id {order_id}.", code="unknown_shipment")
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

"""Packing: each picked unit scanned into a carton, cartons weighed and closed, the order
packed when every picked unit is in a closed carton; and what a scan at a pack station does.

A carton whose scale weight is off what its items and box should weigh is held for a
re-check before any label prints. One carton of an order is open at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from warehouse.config import BoxConfig, PackingConfig
from warehouse.db import rows_changed
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import (
    ACTIVE_PICK_LISTS,
    Carton,
    CartonItem,
    CartonStatus,
    Order,
    OrderLine,
    OrderStatus,
    Pick,
    PickList,
    PickListOrder,
    PickStatus,
    Shipment,
    ShipmentStatus,
    utcnow,
)
from warehouse.orders import get_order, move_on
from warehouse.pick_lists import picked_units
from warehouse.printing import replace
from warehouse.quantities import check_units
from warehouse.scanning import Logged, Resolved

# The most units one typed quantity or one program's scan packs at once.
MAX_UNITS_AT_ONCE = 10_000


class WrongItem(InvalidInput):
    """An item the order does not want (any more) in its cartons."""


@dataclass(frozen=True)
class LineToPack:
    """An order line at packing: units ordered (line.qty), picked and still here, packed."""

    line: OrderLine
    picked: int
    packed: int

    @property
    def left(self) -> int:
        return self.picked - self.packed


# A carton's items with their lines and products, read with it.
_ITEMS = selectinload(Carton.items).joinedload(CartonItem.order_line).joinedload(OrderLine.product)


def get_carton(session: Session, carton_id: int) -> Carton:
    """A carton with its items, or NotFound."""
    carton = session.scalar(select(Carton).where(Carton.id == carton_id).options(_ITEMS))
    if carton is None:
        raise NotFound(f"No carton has id {carton_id}.", code="unknown_carton")
    return carton


def open_shipment(session: Session, order: Order) -> Shipment:
    """The order's shipment being packed (packing or packed, not shipped), made when it has
    none: an order ships in one, or on a channel that ships partly, in one per part."""
    shipments = session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order.id)
        .order_by(Shipment.number)
        .execution_options(populate_existing=True)
    ).all()
    current = next((s for s in shipments if s.status != ShipmentStatus.SHIPPED), None)
    if current is None:
        current = Shipment(order_id=order.id, number=len(shipments) + 1)
        session.add(current)
        session.flush()
    return current


def _unshipped_cartons(session: Session, order_id: int) -> list[Carton]:
    """The order's cartons that have not left: those of the shipment being packed."""
    return list(
        session.scalars(
            select(Carton)
            .join(Carton.shipment)
            .where(Carton.order_id == order_id, Shipment.status != ShipmentStatus.SHIPPED)
            .order_by(Carton.number)
            .execution_options(populate_existing=True)
        )
    )


def lines_to_pack(session: Session, order: Order) -> list[LineToPack]:
    """Each line of the order: units ordered, picked and not shipped yet, and packed into
    cartons that have not shipped."""
    picked = picked_units(session, order.id)
    packed: dict[int, int] = {
        line_id: units
        for line_id, units in session.execute(
            select(CartonItem.order_line_id, func.sum(CartonItem.qty))
            .join(CartonItem.carton)
            .join(Carton.shipment)
            .where(Carton.order_id == order.id, Shipment.status != ShipmentStatus.SHIPPED)
            .group_by(CartonItem.order_line_id)
        )
    }
    # Every unit shipped was picked, so what was picked and is still here is the difference.
    return [
        LineToPack(line, picked.get(line.id, 0) - line.shipped, int(packed.get(line.id) or 0))
        for line in order.lines
    ]


def still_picking(session: Session, order_id: int) -> bool:
    """Whether a list being walked still has picks for the order."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Pick)
            .join(Pick.pick_list)
            .join(Pick.order_line)
            .where(
                OrderLine.order_id == order_id,
                Pick.status == PickStatus.OPEN,
                PickList.status.in_(ACTIVE_PICK_LISTS),
            )
        )
    )


def ready_to_pack(session: Session, order_id: int) -> Order:
    """An order whose picking is done and that is not packed yet; refused otherwise."""
    order = get_order(session, order_id)
    if order.status in (OrderStatus.PACKED, OrderStatus.SHIPPED):
        raise Conflict(f"Order {order.id} is {order.status} already.", code="already_packed")
    if order.status != OrderStatus.PICKING or still_picking(session, order.id):
        raise Conflict(
            f"Order {order.id} is not picked yet ({order.status}): pack it once its pick "
            "list is done.",
            code="not_picked",
        )
    return order


def open_carton(session: Session, order_id: int, box: str, boxes: dict[str, BoxConfig]) -> Carton:
    """A new carton for a picked order; refused while another of its cartons is open. A
    carton added to a shipment already labelled voids its labels: they said "of n"."""
    if box not in boxes:
        raise InvalidInput(
            f"No box type {box!r}; config.toml has {', '.join(sorted(boxes))}.", field="box"
        )
    order = ready_to_pack(session, order_id)
    shipment = open_shipment(session, order)
    cartons = _unshipped_cartons(session, order.id)
    if any(c.status in (CartonStatus.OPEN, CartonStatus.HELD) for c in cartons):
        raise Conflict("Close the open carton first.", code="carton_open")
    if all(line.left == 0 for line in lines_to_pack(session, order)):
        raise Conflict(f"Everything of order {order.id} is packed.", code="all_packed")
    for labelled in cartons:
        void_label(session, labelled)
    numbered = session.scalar(
        select(func.coalesce(func.max(Carton.number), 0)).where(Carton.order_id == order.id)
    )
    carton = Carton(
        order_id=order.id, shipment_id=shipment.id, number=int(numbered or 0) + 1, box=box,
        status=CartonStatus.OPEN,
    )  # fmt: skip
    session.add(carton)
    session.flush()
    return carton


def void_label(session: Session, carton: Carton) -> None:
    """The carton's label no longer stands: its SSCC and our tracking number are given up
    (the dock will want the new label), and its job, if it has not gone out, never will."""
    if carton.label_job_id is not None:
        replace(session, carton.label_job_id)
    carton.sscc, carton.label_job_id = None, None
    if carton.carrier_label is None:
        carton.tracking, carton.carrier, carton.service = None, None, None
    session.flush()


def pack_item(session: Session, carton_id: int, sku: str, units: int) -> CartonItem:
    """Put scanned units into an open carton: refused for an item the order does not
    want, or one unit more than was picked for it."""
    return pack_into(session, get_carton(session, carton_id), sku, units)


def pack_into(session: Session, carton: Carton, sku: str, units: int) -> CartonItem:
    """pack_item for a carton already read with its items."""
    if carton.status != CartonStatus.OPEN:
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
    if carton.status not in (CartonStatus.OPEN, CartonStatus.HELD):
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
    carton.status = CartonStatus.HELD if abs(weight_g - expected) > allowed else CartonStatus.CLOSED
    carton.closed_at = utcnow()
    session.flush()
    return carton


def reopen_carton(session: Session, carton_id: int) -> Carton:
    """A supervisor opens a closed or held carton again, before it ships. If its shipment was
    packed, the order is back to packing and the carton will be labelled anew."""
    carton = get_carton(session, carton_id)
    if carton.status == CartonStatus.SHIPPED:
        raise Conflict("The carton has shipped.", code="already_shipped")
    # One carton open at a time, as open_carton keeps it: a scan must know where it goes.
    if any(
        other.id != carton.id and other.status in (CartonStatus.OPEN, CartonStatus.HELD)
        for other in _unshipped_cartons(session, carton.order_id)
    ):
        raise Conflict("Close the open carton first.", code="carton_open")
    if not rows_changed(
        session,
        update(Carton)
        .where(Carton.id == carton.id, Carton.status.in_((CartonStatus.CLOSED, CartonStatus.HELD)))
        .values(status=CartonStatus.OPEN),
    ):
        raise Conflict(f"Carton {carton.number} is already open.", code="carton_open")
    session.refresh(carton)
    shipment = session.get_one(Shipment, carton.shipment_id, populate_existing=True)
    if shipment.status == ShipmentStatus.PACKED:
        shipment.status = ShipmentStatus.PACKING
        move_on(session, carton.order_id, OrderStatus.PACKED, OrderStatus.PICKING)
    void_label(session, carton)
    return carton


def order_is_packed(session: Session, order_id: int) -> bool:
    """Every picked unit not shipped yet is in a carton, and every such carton is closed."""
    order = get_order(session, order_id)
    cartons = _unshipped_cartons(session, order.id)
    return (
        bool(cartons)
        and all(c.status == CartonStatus.CLOSED for c in cartons)
        and all(line.left == 0 for line in lines_to_pack(session, order))
        and not still_picking(session, order.id)
    )


def order_in(session: Session, scanned: Resolved) -> int | None:
    """The order a scanned order code or tote names (a tote holds the order picked into
    it; once it holds units it is also a stock location); None for anything else."""
    if scanned.order is not None:
        return scanned.order.id
    tote = scanned.tote or scanned.location
    if tote is None:
        return None
    found = session.scalar(
        select(PickListOrder.order_id)
        .join(Order, Order.id == PickListOrder.order_id)
        .where(PickListOrder.tote == tote, Order.status == OrderStatus.PICKING)
        .order_by(PickListOrder.id.desc())
        .limit(1)
    )
    if found is None and scanned.kind == "tote":
        raise NotFound(f"Tote {tote} holds no order to pack.", code="empty_tote")
    return None if found is None else int(found)


def carton_of(session: Session, order_id: int, number: int) -> Carton:
    """Carton `number` of an order (cartons are numbered through the order)."""
    carton = session.scalar(
        select(Carton)
        .where(Carton.order_id == order_id, Carton.number == number)
        .execution_options(populate_existing=True)
    )
    if carton is None:
        raise NotFound(f"Order {order_id} has no carton {number}.", code="unknown_carton")
    return carton


def open_carton_of(session: Session, order_id: int) -> Carton | None:
    """The order's open carton, if it has one, with its items."""
    return session.scalar(
        select(Carton)
        .where(Carton.order_id == order_id, Carton.status == CartonStatus.OPEN)
        .options(_ITEMS)
        .execution_options(populate_existing=True)
    )


def _item_of(scanned: Resolved, field: str) -> str:
    """The SKU a scan at packing names, or a refusal: it must be an item we know."""
    if scanned.kind != "product" or scanned.sku is None:
        raise WrongItem(
            f"{scanned.code} is not an item this warehouse knows: put it aside.",
            field=field,
            code="wrong_item",
        )
    return scanned.sku


def _packed(session: Session, carton: Carton, sku: str, units: int) -> Logged:
    """Pack the units into the carton; what the scan did, for its log and its answer."""
    pack_into(session, carton, sku, units)
    return {"kind": "pack", "step": "item", "order": carton.order_id, "carton": carton.number,
            "carton_id": carton.id, "sku": sku, "units": units}  # fmt: skip


def pack_code(
    session: Session, order_id: int, number: int, scanned: Resolved, times: int = 1
) -> Logged:
    """A scanned item packed into carton `number` of an order, `times` over (a case code
    counts its units each time): what a pack station's own program does."""
    carton = carton_of(session, order_id, number)
    sku = _item_of(scanned, "code")
    units = check_units(scanned.units_scanned * times, "qty", most=MAX_UNITS_AT_ONCE)
    return _packed(session, carton, sku, units)


def pack_scan(session: Session, order_id: int | None, scanned: Resolved) -> Logged:
    """What a scan at packing does: an order or a tote brings that order to the bench; an
    item goes into the open carton of the order on the bench (a case code counts its units)."""
    found = order_in(session, scanned)
    if found is not None:
        # A packed order comes to the bench too: to reprint a label, or to reopen a carton.
        if get_order(session, found).status != OrderStatus.PACKED:
            ready_to_pack(session, found)
        return {"kind": "pack", "step": "order", "order": found}
    if order_id is None:
        raise InvalidInput(
            f"{scanned.code} is not an order or a tote: scan the tote or the order.",
            field="code",
            code="not_an_order",
        )
    sku = _item_of(scanned, "sku")
    carton = open_carton_of(session, order_id)
    if carton is None:
        raise Conflict("Choose a box first.", code="no_open_carton")
    return _packed(session, carton, sku, scanned.units_scanned)

"""The planning desk: choose reserved orders (by channel and ship-by, or one by one), look at
the carts the service proposes for them (orders, lines, units, walk), and create those pick
lists once the supervisor confirms; the picking desk then shows who holds which."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

from flask import Blueprint, request

from warehouse import channels, waves
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.limits import check_date
from warehouse.models import Order
from warehouse.pages.shared import page, whole_number
from warehouse.pick_lists import MAX_BATCH
from warehouse.web import config, db, requires, transaction, writes_late

bp = Blueprint("plan", __name__)

DEFAULT_CART = 8
SHOWN = 200


def _day(text: str) -> datetime | None:
    """Ship-by before the end of this day (a date typed YYYY-MM-DD)."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"{text} is not a date: pick one, or write YYYY-MM-DD.") from None
    return datetime.combine(check_date(day, "ship_by"), time.max, tzinfo=UTC)


def _choice() -> tuple[waves.WaveFilter, int, dict[str, str]]:
    """The orders the desk's filters (or its ticked orders) choose, and the cart size."""
    args = request.values
    chosen = {
        key: args.get(key, "").strip() for key in ("channel", "ship_by", "max_orders", "cart")
    }
    ticked = tuple(whole_number(one, "order", 1) for one in args.getlist("order"))
    wanted = waves.WaveFilter(
        channel=chosen["channel"] or None,
        ship_by_before=_day(chosen["ship_by"]),
        max_orders=whole_number(chosen["max_orders"], "max_orders", 1)
        if chosen["max_orders"] else None,
        orders=ticked or None,
    )  # fmt: skip
    # Its upper bound is the domain's (waves.plan_wave).
    cart = whole_number(chosen["cart"] or str(DEFAULT_CART), "cart", 1)
    return wanted, cart, chosen


def _waiting(wanted: waves.WaveFilter) -> list[Order]:
    """Reserved orders under the filters, most urgent first (what a wave would take)."""
    most = min(wanted.max_orders or SHOWN, SHOWN)
    return waves.wave_orders(db(), replace(wanted, orders=None, max_orders=most))


def _desk(status: int = 200, **values: object) -> tuple[str, int]:
    return page(
        "plan.html", status, channels=channels.list_channels(db()), max_batch=MAX_BATCH,
        **values,
    )  # fmt: skip


@bp.route("/plan")
@requires("picking.plan")
def plan() -> tuple[str, int]:
    """Reserved orders under the filters; with `preview`, the carts proposed for them."""
    try:
        wanted, cart, chosen = _choice()
        proposal = (
            waves.plan_wave(db(), wanted, config().layout, cart)
            if request.args.get("preview")
            else None
        )
    except WarehouseError as refused:
        return _desk(refused.status, orders=[], chosen={}, error=refused.message)
    return _desk(orders=_waiting(wanted), chosen=chosen, proposal=proposal,
                 ticked=set(wanted.orders or ()), cart=cart)  # fmt: skip


@bp.route("/plan", methods=["POST"])
@requires("picking.plan")
@writes_late
def create() -> tuple[str, int]:
    """The previewed carts made into pick lists, as they were shown (confirmed first)."""
    try:
        if request.form.get("confirm") != "yes":
            raise InvalidInput("Tick the box to confirm these pick lists first.", field="confirm")
        carts = [
            [whole_number(one, "order", 1) for one in cart.split(",")]
            for cart in request.form.getlist("cart")
        ]
        if not carts:
            raise InvalidInput("Preview the carts first, then create them.", field="cart")
        with transaction() as session:
            made = waves.create_carts(session, carts, config().layout)
            lists = [pick_list.id for pick_list in made.pick_lists]
    except WarehouseError as refused:
        return _desk(refused.status, orders=_waiting(waves.WaveFilter()), chosen={},
                     error=refused.message)  # fmt: skip
    said = f"Pick lists {', '.join(map(str, lists))} are open for pickers." if lists else ""
    skipped = "; ".join(f"order {order}: {why}" for order, why in made.skipped)
    return _desk(
        201 if lists else 409, orders=_waiting(waves.WaveFilter()), chosen={},
        notice=" ".join(filter(None, [said, f"Not made: {skipped}" if skipped else ""])),
        made=made.pick_lists,
    )  # fmt: skip

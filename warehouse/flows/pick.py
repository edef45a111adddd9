"""Picking a list on the handheld: take a list, scan a tote into each cart slot, then at each
stop scan the bin, each item (a case code counts its units) and the order's tote. A wrong bin,
item or tote, or one unit more than the stop wants, is refused and named; "not enough here"
books what was found and sends the rest to other bins, or to the order's backorder.

State: {"list": pick list id or absent, "step": "location" | "item" | "tote", "counted":
units of the stop in hand}.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse import picking
from warehouse.config import Config
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.flows.core import Flow, State, Step, Values, typed, unknown_action
from warehouse.limits import check_id
from warehouse.models import Pick, PickList, User
from warehouse.pick_lists import get_pick_list
from warehouse.quantities import parse_units
from warehouse.scanning import Resolved


def _list_number(values: Values) -> int:
    """The number of the list taken: an id, however many digits it has, not a count of units
    (so not refused as a barcode scanned into a quantity)."""
    text = typed(values, "list")
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput("The list number must be a whole number.", field="list")
    if not check_id(int(text)):
        # Ids are 32-bit: a larger number names no list (and PostgreSQL would refuse it).
        raise NotFound(f"No pick list has id {text}.", code="unknown_pick_list")
    return int(text)


def _list(session: Session, state: State) -> PickList:
    if not state.get("list"):
        raise Conflict("Take a pick list first.", code="no_pick_list")
    return get_pick_list(session, int(state["list"]))


def slot_of(pick_list: PickList, pick: Pick) -> int | None:
    """The cart slot of the pick's order (what the picker looks for on the cart)."""
    return next((p.slot for p in pick_list.orders if p.order_id == pick.order_line.order_id), None)


def _after(session: Session, pick_list_id: int, state: State, said: str) -> Step:
    """The next step of the list once a pick is booked."""
    fresh = get_pick_list(session, pick_list_id)
    nxt = picking.next_pick(fresh)
    if nxt is None:
        # The list stays on the screen, done, until the picker asks for the next one.
        return Step(
            {"list": pick_list_id, "step": "done"},
            f"{said} List {pick_list_id} is done: take the cart to packing.",
        )
    return Step(
        {"list": pick_list_id, "step": "location", "counted": 0},
        f"{said} Next: {nxt.stock.location.code}.",
    )


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    pick_list = _list(session, state)
    slot = picking.empty_slot(pick_list)
    if slot is not None:
        if scanned.tote is None:
            raise InvalidInput(
                f"{scanned.label} is not a tote: put an empty tote in cart slot {slot.slot} "
                "and scan it.",
                field="tote",
                code="not_a_tote",
            )
        picking.set_tote(session, pick_list.id, user, slot.slot, scanned.tote)
        after = picking.empty_slot(get_pick_list(session, pick_list.id))
        nxt = f"a tote for slot {after.slot}" if after else "the first stop"
        return Step(state, f"Tote {scanned.tote} is in slot {slot.slot}. Next: {nxt}.")
    pick = picking.next_pick(pick_list)
    if pick is None:
        raise Conflict(
            f"List {pick_list.id} is done: take the cart to packing, then choose the next list.",
            code="pick_list_closed",
        )
    step, counted = state.get("step", "location"), int(state.get("counted", 0))
    tote = picking.tote_of(pick_list, pick) or ""
    sku = pick.order_line.product.sku
    left = pick.qty - pick.picked
    if step == "location":
        if scanned.kind == "product":
            raise picking.WrongScan(
                f"Scan the bin {pick.stock.location.code} first: that was an item ({scanned.sku}).",
                field="location",
                code="bin_first",
            )
        picking.expect_location(pick, scanned.location or scanned.code)
        return Step({**state, "step": "item", "counted": 0}, f"Take {left} of {sku}: scan each.")
    if step == "item" or scanned.kind == "product":
        if scanned.tote is not None and counted:
            raise picking.WrongScan(
                f"{counted} of {left} {sku} are in hand: scan the rest, or say Not enough here.",
                field="tote",
                code="not_all_in_hand",
            )
        if scanned.kind != "product" or scanned.sku is None:
            raise picking.WrongScan(
                f"{scanned.label} is not an item: scan the {sku} you take here.",
                field="sku",
                code="wrong_item",
            )
        picking.expect_item(pick, scanned.sku)
        if counted < left < counted + scanned.units_scanned:
            # A case (or a counted code) of more than is still wanted: not all are in hand, so
            # the tote is not next.
            raise picking.WrongScan(
                f"Too many: {left} of {sku} are wanted here, {counted} are in hand, and that "
                f"scan counts {scanned.units_scanned}. Take the {left - counted} still wanted "
                "one at a time and scan each.",
                field="qty",
                code="too_many",
            )
        if counted + scanned.units_scanned > left:
            raise picking.WrongScan(
                f"One too many: {left} of {sku} are wanted here and {counted} are in hand. "
                f"Put the extra back, then scan tote {tote} (slot {slot_of(pick_list, pick)}).",
                field="qty",
                code="too_many",
            )
        return _in_hand(pick_list, pick, counted + scanned.units_scanned)
    picking.confirm_pick(
        session, user, pick_list.id, pick.id, location=pick.stock.location.code, sku=sku,
        qty=counted, tote=scanned.tote or scanned.code,
    )  # fmt: skip
    return _after(session, pick_list.id, state, f"Picked {counted} into {tote}.")


def _in_hand(pick_list: PickList, pick: Pick, counted: int) -> Step:
    """The units of the stop in hand: the next item, or the tote once all are."""
    sku, left = pick.order_line.product.sku, pick.qty - pick.picked
    state = {"list": pick_list.id, "step": "item", "counted": counted}
    if counted < left:
        return Step(state, f"{sku}: {counted} of {left}.")
    tote = picking.tote_of(pick_list, pick) or ""
    return Step(
        {**state, "step": "tote"},
        f"{sku}: all {left} in hand. Scan tote {tote} (slot {slot_of(pick_list, pick)}).",
    )


def _typed_units(pick_list: PickList, pick: Pick, state: State, values: Values) -> Step:
    """Many units taken at once: typed, once one of them has been scanned (the right item)."""
    if state.get("step") not in ("item", "tote") or not state.get("counted"):
        raise Conflict(
            f"Scan one {pick.order_line.product.sku} first, then type how many are in hand.",
            code="item_first",
        )
    counted = parse_units(
        typed(values, "counted"), "counted", most=pick.qty - pick.picked, name="Units in hand"
    )
    return _in_hand(pick_list, pick, counted)


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    if action == "take":
        list_id = _list_number(values)
        picking.start_pick_list(session, list_id, user)
        return Step(
            {"list": list_id, "step": "location", "counted": 0}, f"List {list_id} is yours."
        )
    if action == "leave":
        return Step({}, "Choose a pick list.")
    if action not in ("qty", "short"):
        raise unknown_action("Pick", action)
    pick_list = _list(session, state)
    pick = picking.next_pick(pick_list)
    if pick is None:
        raise Conflict(f"List {pick_list.id} is done.", code="pick_list_closed")
    if action == "qty":
        return _typed_units(pick_list, pick, state, values)
    found = parse_units(
        typed(values, "found"),
        "found",
        least=0,
        most=pick.qty - pick.picked - 1,
        name="Units found",
    )
    bin_ = pick.stock.location.code
    added = picking.short_pick(
        session,
        user,
        pick_list.id,
        pick.id,
        found=found,
        tote=picking.tote_of(pick_list, pick) or "",
    )
    where = "the rest is picked from another bin" if added else "no other bin has the rest"
    step = _after(session, pick_list.id, state, f"Short pick noted at {bin_}; {where}.")
    # Not green: units went missing, and a bin is to be counted.
    return Step(step.state, step.message, "warn")


FLOW = Flow("pick", "picking.pick", on_scan, on_action)

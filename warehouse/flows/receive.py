"""Receiving: scan the bin, then an item; each further scan of the same item adds its units (a
case code its case, a GS1 code its count), or the units are typed; Receive books them. A scan
is never a quantity: a number typed is checked as units (a barcode typed into Units is said to
be one). Nothing is booked without the Receive button; the item in hand is never dropped
silently for another scan.

State: {"location": bin code or absent, "item": {"sku", "name", "units", "lot", "expiry"}
or absent}.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from warehouse import inventory
from warehouse.config import Config
from warehouse.errors import Conflict, InvalidInput
from warehouse.flows.core import Flow, State, Step, Values, typed, unknown_action
from warehouse.limits import check_date
from warehouse.models import User
from warehouse.quantities import check_units, parse_units
from warehouse.scanning import Resolved

MAX_LOT = 40


def _in_hand(state: State) -> str:
    item = state["item"]
    return f"{item['units']} of {item['sku']}"


def _next(item: State) -> str:
    return (
        f"{item['sku']}: {item['units']}. Scan it again for each unit, or type the units; "
        "then press Receive."
    )


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    most = config.receiving.max_units
    if scanned.kind == "location":
        if state.get("item"):
            raise Conflict(
                f"Receive the {_in_hand(state)} first (or cancel), then scan the next bin.",
                code="item_in_hand",
            )
        return Step(
            {"location": scanned.location}, f"Receiving at {scanned.location}: scan an item."
        )
    if scanned.kind != "product" or scanned.sku is None:
        raise InvalidInput(
            f"{scanned.code} is not an item or a bin this warehouse knows: put it aside.",
            field="code",
            code="not_an_item",
        )
    if not state.get("location"):
        raise InvalidInput(
            f"Scan the bin first: {scanned.sku} is an item.", field="code", code="bin_first"
        )
    gs1 = scanned.gs1
    lot = (gs1.lot if gs1 else None) or ""
    expiry = gs1.expiry.isoformat() if gs1 and gs1.expiry else ""
    item = state.get("item")
    if item and (item["sku"] != scanned.sku or (lot and lot != item["lot"])):
        raise Conflict(
            f"Receive the {_in_hand(state)} first (or cancel), then scan {scanned.sku}.",
            code="item_in_hand",
        )
    if item:
        units = check_units(item["units"] + scanned.units_scanned, "qty", most=most, name="Units")
        item = {**item, "units": units}
    else:
        units = check_units(scanned.units_scanned, "qty", most=most, name="Units")
        item = {"sku": scanned.sku, "name": scanned.name or "", "units": units, "lot": lot,
                "expiry": expiry}  # fmt: skip
    return Step({**state, "item": item}, _next(item))


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text} is not a date: write it YYYY-MM-DD.", field="expiry") from None
    return check_date(day, "expiry")


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    most = config.receiving.max_units
    item = state.get("item")
    if action == "leave":
        return Step({}, "Scan the bin to receive into.")
    if action == "cancel":
        if not item:
            return Step(state, "Nothing in hand.", "warn")
        return Step(
            {"location": state.get("location")},
            f"Cancelled: the {_in_hand(state)} were not received.",
            "warn",
        )
    if action not in ("qty", "receive"):
        raise unknown_action("Receive", action)
    if not item:
        raise Conflict("Scan an item first.", code="no_item")
    if action == "qty":
        typed_units = parse_units(typed(values, "qty"), "qty", most=most, name="Units")
        item = {**item, "units": typed_units}
        return Step({**state, "item": item}, _next(item))
    units = (
        parse_units(typed(values, "qty"), "qty", most=most, name="Units")
        if typed(values, "qty")
        else item["units"]
    )
    lot = typed(values, "lot") if "lot" in values else item["lot"]
    if len(lot) > MAX_LOT:
        raise InvalidInput(f"A lot is {MAX_LOT} characters at most.", field="lot")
    expiry = typed(values, "expiry") if "expiry" in values else item["expiry"]
    inventory.receive(
        session, user, item["sku"], state["location"], units, lot=lot, expiry=_day(expiry),
        most=most,
    )  # fmt: skip
    lot_said = f" (lot {lot})" if lot else ""
    return Step(
        {"location": state["location"]},
        f"Received {units} of {item['sku']}{lot_said} at {state['location']}. Scan the next item.",
    )


FLOW = Flow("receive", "stock.receive", on_scan, on_action)

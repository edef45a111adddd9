"""Packing on a handheld or at a station: scan the tote or the order, choose a box, scan each
item into it, weigh and close it, and open another when one box is not enough; the labels go
to the station's printer when the last carton closes. A label the printer did not take is a
failure the packer sees, with another printer or this handheld's PDF to choose.

State: {"station": station name or absent (a handheld), "order": order id or absent, "sku" and
"carton": the item last scanned and the id of the carton it went into, for the keypad}. At a
station the order is the one on its bench, which the station's own scanner may change.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse import labelling, packing, printing, stations
from warehouse.config import Config
from warehouse.errors import Conflict, Forbidden, InvalidInput
from warehouse.flows.core import Flow, State, Step, Values, typed, unknown_action
from warehouse.models import Carton, CartonStatus, OrderStatus, PackStation, User
from warehouse.orders import get_order
from warehouse.quantities import parse_units
from warehouse.roles import allowed
from warehouse.scanning import Resolved


def order_of(session: Session, state: State) -> int | None:
    """The order being packed: the station bench's, or this handheld's own."""
    station = state.get("station")
    if station:
        bench = session.get(PackStation, station, populate_existing=True)
        return bench.order_id if bench is not None else None
    return state.get("order")


def _weight_g(text: str) -> int:
    try:
        kg = float(text.replace(",", "."))
    except ValueError:
        raise InvalidInput(
            "Type the weight in kg, for example 1.25.", field="weight_kg", code="invalid_weight"
        ) from None
    if not kg == kg or kg in (float("inf"), float("-inf")):  # NaN and infinities
        raise InvalidInput("Type the weight in kg, for example 1.25.", field="weight_kg")
    return round(kg * 1000)


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    order_id = order_of(session, state)
    done = packing.pack_scan(session, order_id, scanned)
    if done["step"] == "order":
        if state.get("station"):
            stations.bench(session, state["station"], config)
            stations.put_on_bench(session, state["station"], done["order"], user)
        again = {"station": state.get("station"), "order": done["order"]}
        if get_order(session, done["order"]).status == OrderStatus.PACKED:
            return Step(
                again,
                f"Order {done['order']} is packed already: reprint a label, or a supervisor "
                "reopens a carton.",
                "warn",
            )
        return Step(again, f"Order {done['order']} is on the bench.")
    # The keypad counts more of this item into this carton only: not into the next box.
    return Step(
        {**state, "sku": done["sku"], "carton": done["carton_id"]},
        stations.said(done, None)[1],
    )


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    if action == "station":
        station = typed(values, "station") or None
        if station is not None:
            stations.bench(session, station, config)  # an unknown station is refused
        return Step(
            {"station": station},
            f"Packing at {station or 'this handheld'}: scan the tote or the order.",
        )
    if action == "leave":
        return Step({"station": state.get("station")}, "Scan the tote or the order.")
    order_id = order_of(session, state)
    if order_id is None:
        raise Conflict("Scan the tote or the order first.", code="no_order")
    if action == "box":
        box = typed(values, "box")
        packing.open_carton(session, order_id, box, config.boxes)
        return Step(state, f"{config.boxes[box].name} opened: scan each item into it.")
    if action == "more":
        return _more(session, order_id, state, values)
    if action == "close":
        carton = _carton(session, order_id, values)
        closed = stations.close_and_label(
            session, carton.id, _weight_g(typed(values, "weight_kg")), config, state.get("station")
        )
        if closed.status == CartonStatus.HELD:
            return Step(
                state,
                f"Carton {closed.number} weighs {closed.weight_g} g but should weigh about "
                f"{closed.expected_g} g: check what is in it, then weigh it again.",
                "warn",
            )
        packed = get_order(session, order_id).status == OrderStatus.PACKED
        said = " The order is packed: its labels are printing." if packed else ""
        return Step(state, f"Carton {closed.number} closed.{said}")
    if action == "reopen":
        if not allowed(user.role, "packing.supervise"):
            raise Forbidden("Only a supervisor may reopen a carton.")
        carton = _carton(session, order_id, values)
        packing.reopen_carton(session, carton.id)
        return Step(
            state, f"Carton {carton.number} reopened: its label will be printed anew.", "warn"
        )
    if action == "reprint":
        asked = parse_units(typed(values, "job"), "job", name="The job number")
        job = printing.reprint(session, asked)
        if job.id != asked:
            return Step(state, f"Label sent again to {job.printer}.")
        # Not printed yet: the same job is tried again now, never doubled; and one that
        # failed is not said to be done.
        if job.last_error:
            return Step(
                state,
                f"The label did not print on {job.printer} yet: it is tried again now. If it "
                "fails again, print it on another printer.",
                "warn",
            )
        return Step(state, f"The label waiting for {job.printer} is tried again now.")
    if action == "printed":
        # The packer looked at the printer: a label that may have printed did.
        asked = parse_units(typed(values, "job"), "job", name="The job number")
        job = printing.mark_printed(session, asked)
        return Step(state, f"The label on {job.printer} is marked printed: it is not sent again.")
    if action == "print_to":
        carton = _carton(session, order_id, values)
        job = labelling.label_to(session, carton.id, typed(values, "printer"), config)
        return Step(state, f"Label of carton {carton.number} goes to {job.printer} now.")
    raise unknown_action("Pack", action)


def _more(session: Session, order_id: int, state: State, values: Values) -> Step:
    """Many units of the item just scanned, typed: the scan proved the item, the keypad counts."""
    sku = state.get("sku")
    carton = packing.open_carton_of(session, order_id)
    if not sku or carton is None or state.get("carton") != carton.id:
        raise Conflict("Scan one item into the open carton first, then type how many more.",
                       code="item_first")  # fmt: skip
    units = parse_units(
        typed(values, "units"), "units", most=packing.MAX_UNITS_AT_ONCE, name="Units"
    )
    packing.pack_item(session, carton.id, sku, units)
    return Step(state, f"{units} more {sku} in carton {carton.number}.")


def _carton(session: Session, order_id: int, values: Values) -> Carton:
    number = parse_units(typed(values, "carton"), "carton", name="The carton number")
    return packing.carton_of(session, order_id, number)


FLOW = Flow("pack", "packing.pack", on_scan, on_action)

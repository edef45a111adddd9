"""The screens of the floor flows: each flow's state drawn as HTML (templates/panels/), for
the first paint of its page and for every answer the page's script receives. A panel reads
what it shows from the database; it changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template

from warehouse import packing, printing, returns, shipping, stations
from warehouse.counting import BinCount, CountLine
from warehouse.flows.core import State
from warehouse.flows.pack import order_of
from warehouse.flows.pick import slot_of
from warehouse.models import CartonStatus, PackStation, PickListStatus, User, utcnow
from warehouse.orders import find_order
from warehouse.pick_lists import find_pick_lists, get_pick_list
from warehouse.picking import empty_slot, next_pick, tote_of
from warehouse.roles import allowed
from warehouse.scanning import Resolved
from warehouse.stock import look_up
from warehouse.web import config, db


def _receive(state: State, user: User) -> dict[str, Any]:
    return {"location": state.get("location"), "item": state.get("item")}


def _count(state: State, user: User) -> dict[str, Any]:
    if not state.get("location"):
        return {"bin": None}
    lines = [CountLine(**line) for line in state.get("lines", [])]
    return {"bin": BinCount(state["location"], lines)}


def _lookup(state: State, user: User) -> dict[str, Any]:
    if not state.get("last"):
        return {"answer": None}
    answer = Resolved.from_json(state["last"])
    found = look_up(db(), answer.label) if answer.kind in ("product", "location") else None
    return {"answer": answer, "gs1": state["last"].get("gs1"), "found": found}


def _pick(state: State, user: User) -> dict[str, Any]:
    if not state.get("list"):
        found = find_pick_lists(db())
        mine = [p for p in found if p.status == PickListStatus.PICKING and p.picker_id == user.id]
        return {
            "pick_list": None,
            "mine": mine,
            "free": [p for p in found if p.status == PickListStatus.OPEN],
        }
    pick_list = get_pick_list(db(), int(state["list"]))
    pick = next_pick(pick_list)
    return {
        "pick_list": pick_list,
        "slot": empty_slot(pick_list),
        "pick": pick,
        "tote": tote_of(pick_list, pick) if pick else None,
        "cart_slot": slot_of(pick_list, pick) if pick else None,
        "step": state.get("step", "location"),
        "counted": state.get("counted", 0),
        "done_units": sum(p.picked for p in pick_list.picks),
        "all_units": sum(p.qty for p in pick_list.picks),
    }


def _pack(state: State, user: User) -> dict[str, Any]:
    station = state.get("station")
    bench = db().get(PackStation, station) if station else None
    values: dict[str, Any] = {
        "stations": sorted(config().stations), "station": station, "bench": bench,
        "order": None, "printers": config().printers,
    }  # fmt: skip
    order_id = order_of(db(), state)
    order = find_order(db(), order_id) if order_id else None
    if order is None:
        return values
    current = shipping.current_shipment(db(), order.id)
    cartons = shipping.shipment_cartons(db(), current.id) if current is not None else []
    jobs = shipping.label_jobs(db(), cartons)
    failing = [c for c in cartons if c.id in jobs and printing.did_not_print(jobs[c.id])]
    return {
        **values,
        "order": order,
        "shipment": current,
        "lines": packing.lines_to_pack(db(), order),
        "cartons": cartons,
        "open_carton": next((c for c in cartons if c.status == CartonStatus.OPEN), None),
        "held": [c for c in cartons if c.status == CartonStatus.HELD],
        "boxes": config().boxes,
        "jobs": jobs,
        "failing": failing,
        "scale_g": stations.scale_weight(bench, utcnow()),
        "can_reopen": allowed(user.role, "packing.supervise"),
    }


def _dock(state: State, user: User) -> dict[str, Any]:
    order = find_order(db(), int(state["order"])) if state.get("order") else None
    shipment = shipping.current_shipment(db(), order.id) if order else None
    return {
        "order": order,
        "shipment": shipment,
        "cartons": shipping.shipment_cartons(db(), shipment.id) if shipment else [],
        "can_confirm": allowed(user.role, "shipments.confirm"),
    }


def _returns(state: State, user: User) -> dict[str, Any]:
    order = find_order(db(), int(state["order"])) if state.get("order") else None
    return {
        "order": order,
        "lines": returns.return_lines(db(), order) if order else [],
        "item": state.get("item"),
        "quarantine": config().returns.quarantine,
    }


CONTEXTS: dict[str, Callable[[State, User], dict[str, Any]]] = {
    "receive": _receive, "count": _count, "lookup": _lookup, "pick": _pick, "pack": _pack,
    "dock": _dock, "returns": _returns,
}  # fmt: skip


def render_panel(flow: str, state: State, user: User) -> str:
    """A flow's screen for the person's state."""
    return render_template(f"panels/{flow}.html", state=state, **CONTEXTS[flow](state, user))

"""The handheld pick flow: take a list, put a tote in each cart slot, then at each stop scan
the bin, the items and the tote. Every scan is logged with its outcome (a wrong bin, item or
tote is refused with the bad sound), for picks per hour and pick accuracy. Supervisors see the
open lists, who holds them, the bins to count and each picker's figures.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from warehouse import counting, figures, pick_lists, picking
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.models import PickList, PickListStatus, utcnow
from warehouse.pages.handheld import act_on_scan, page, scanned, signed_in, whole_number
from warehouse.scanning import Logged
from warehouse.web import db, requires, transaction, writes_late

bp = Blueprint("pick", __name__)


def _lists_page(status: int = 200, **values: Any) -> tuple[str, int]:
    """The picker's own lists in progress, then the open ones."""
    found = pick_lists.find_pick_lists(db())
    me = signed_in()
    mine = [p for p in found if p.status == PickListStatus.PICKING and p.picker_id == me.id]
    free = [p for p in found if p.status == PickListStatus.OPEN]
    return page("pick_lists.html", status, mine=mine, free=free, **values)


@bp.route("/pick")
@requires("picking.pick")
def lists() -> tuple[str, int]:
    """The picker's own lists in progress, then the open ones."""
    return _lists_page()


@bp.route("/pick/<int:pick_list_id>/start", methods=["POST"])
@requires("picking.pick")
@writes_late
def start(pick_list_id: int) -> BaseResponse | tuple[str, int]:
    """Take a list (or go on with one's own)."""
    try:
        with transaction() as session:
            picking.start_pick_list(session, pick_list_id, signed_in())
    except WarehouseError as refused:
        return _lists_page(409, error=refused.message)
    return redirect(url_for("pages.pick.walk", pick_list_id=pick_list_id))


def _walk_page(pick_list: PickList, status: int = 200, **values: Any) -> tuple[str, int]:
    pick = picking.next_pick(pick_list)
    values.setdefault("step", "location")
    return page(
        "pick.html",
        status,
        pick_list=pick_list,
        slot=picking.empty_slot(pick_list),
        pick=pick,
        tote=picking.tote_of(pick_list, pick) if pick else None,
        done_units=sum(p.picked for p in pick_list.picks),
        all_units=sum(p.qty for p in pick_list.picks),
        **values,
    )


@bp.route("/pick/<int:pick_list_id>", methods=["GET", "POST"])
@requires("picking.pick")
@writes_late
def walk(pick_list_id: int) -> tuple[str, int]:
    """The next step of a list: a tote for the next slot, or the next stop's scans."""
    pick_list = pick_lists.get_pick_list(db(), pick_list_id)
    if request.method == "GET":
        return _walk_page(pick_list)
    form = request.form
    raw = form.get("code", "")
    if form.get("action") == "short":
        return _short(pick_list)
    slot = picking.empty_slot(pick_list)
    if slot is not None:
        return _scan_tote_onto_cart(pick_list, slot.slot, raw)
    pick = picking.next_pick(pick_list)
    if pick is None:
        return _walk_page(pick_list, 409, error="This list is done.")
    counted = whole_number(form.get("counted") or "0", "counted", 0)
    step = form.get("step", "location")

    def check() -> Logged:
        scan = scanned(raw)
        if step == "location":
            picking.expect_location(pick, scan.location or scan.code)
            return {"kind": "pick", "step": "location", "pick": pick.id}
        if step == "item":
            if scan.kind != "product" or scan.sku is None:
                raise picking.WrongScan(
                    f"{scan.code} is not an item: scan the item of this stop.",
                    field="sku", code="wrong_item",
                )  # fmt: skip
            picking.expect_item(pick, scan.sku)
            units = counted + scan.units_scanned
            picking.expect_units(pick, units)
            return {"kind": "pick", "step": "item", "pick": pick.id, "counted": units}
        picking.confirm_pick(
            db(), signed_in(), pick_list.id, pick.id,
            location=pick.stock.location.code, sku=pick.order_line.product.sku,
            qty=counted, tote=scan.tote or scan.code,
        )  # fmt: skip
        return {"kind": "pick", "step": "tote", "pick": pick.id, "picked": counted}

    outcome = act_on_scan("pick", raw, check)
    fresh = pick_lists.get_pick_list(db(), pick_list.id)
    if outcome.refused is not None:
        return _walk_page(fresh, 422, step=step, counted=counted, error=outcome.refused.message)
    done = outcome.answer_or_raise()
    if done["step"] == "location":
        return _walk_page(fresh, step="item", counted=0, outcome="good")
    if done["step"] == "item":
        units = done["counted"]
        next_step = "tote" if units == pick.qty - pick.picked else "item"
        return _walk_page(fresh, step=next_step, counted=units, outcome="good")
    return _walk_page(fresh, outcome="good", notice=f"Picked {done['picked']} into the tote.")


def _scan_tote_onto_cart(pick_list: PickList, slot: int, raw: str) -> tuple[str, int]:
    def put() -> Logged:
        scan = scanned(raw)
        if scan.tote is None:
            raise InvalidInput(f"{scan.code} is not a tote.", field="tote", code="not_a_tote")
        picking.set_tote(db(), pick_list.id, signed_in(), slot, scan.tote)
        return {"kind": "pick", "step": "cart", "slot": slot, "tote": scan.tote}

    outcome = act_on_scan("pick", raw, put)
    fresh = pick_lists.get_pick_list(db(), pick_list.id)
    if outcome.refused is not None:
        return _walk_page(fresh, 422, error=outcome.refused.message)
    return _walk_page(fresh, outcome="good")


def _short(pick_list: PickList) -> tuple[str, int]:
    pick = picking.next_pick(pick_list)
    if pick is None:
        return _walk_page(pick_list, 409, error="This list is done.")
    found = request.form.get("found", "")

    def declare() -> Logged:
        units = whole_number(found, "found", 0)
        added = picking.short_pick(
            db(), signed_in(), pick_list.id, pick.id, found=units,
            tote=picking.tote_of(pick_list, pick) or "",
        )  # fmt: skip
        return {"kind": "pick", "step": "short", "pick": pick.id, "found": units,
                "elsewhere": len(added)}  # fmt: skip

    outcome = act_on_scan("pick", f"short {pick.stock.location.code}", declare)
    fresh = pick_lists.get_pick_list(db(), pick_list.id)
    if outcome.refused is not None:
        return _walk_page(fresh, 422, error=outcome.refused.message)
    done = outcome.answer_or_raise()
    where = "from another bin" if done["elsewhere"] else "no other bin has it"
    notice = f"Short pick noted; {pick.stock.location.code} will be counted; the rest: {where}."
    return _walk_page(fresh, outcome="good", notice=notice)


@bp.route("/pick/supervise")
@requires("picking.plan")
def supervise() -> tuple[str, int]:
    """Open lists and who holds them, bins to count, and each picker's figures today."""
    return _supervise_page()


def _supervise_page(status: int = 200, **values: Any) -> tuple[str, int]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return page(
        "pick_supervise.html",
        status,
        pick_lists=pick_lists.find_pick_lists(db()),
        count_tasks=counting.open_count_tasks(db()),
        pickers=figures.picker_figures(db(), today),
        **values,
    )


@bp.route("/pick/<int:pick_list_id>/release", methods=["POST"])
@requires("picking.plan")
@writes_late
def release(pick_list_id: int) -> BaseResponse | tuple[str, int]:
    """Release an abandoned list: its unpicked units are free for other lists."""
    try:
        with transaction() as session:
            picking.release_pick_list(session, pick_list_id)
    except WarehouseError as refused:
        return _supervise_page(409, error=refused.message)
    return redirect(url_for("pages.pick.supervise"))

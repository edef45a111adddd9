"""The handheld pick flow: take a list, put a tote in each cart slot, then at each stop scan
the bin, the items and the tote. Every scan is logged with its outcome (a wrong bin, item or
tote is refused with the bad sound), for picks per hour and pick accuracy.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from warehouse import picking, scanning
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.floor import act_on_scan, floor_page, refusal, scanned, whole_number
from warehouse.models import PickList, User, utcnow
from warehouse.scanning import Answer
from warehouse.web import current_user, db, no_store, requires, writes_late

bp = Blueprint("pick", __name__, template_folder="templates")


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


@bp.route("/pick")
@requires("picking.pick")
def lists() -> tuple[str, int]:
    """The picker's own lists in progress, then the open ones."""
    found = picking.find_pick_lists(db())
    me = _me()
    mine = [p for p in found if p.status == "picking" and p.picker_id == me.id]
    free = [p for p in found if p.status == "open"]
    return floor_page("pick_lists.html", mine=mine, free=free)


@bp.route("/pick/<int:pick_list_id>/start", methods=["POST"])
@requires("picking.pick")
def start(pick_list_id: int) -> BaseResponse | tuple[str, int]:
    """Take a list (or go on with one's own)."""
    try:
        picking.start_pick_list(db(), pick_list_id, _me())
    except WarehouseError as refused:
        db().rollback()
        found = picking.find_pick_lists(db())
        return floor_page(
            "pick_lists.html", 409, error=refused.message, mine=[],
            free=[p for p in found if p.status == "open"],
        )  # fmt: skip
    return redirect(url_for("pick.walk", pick_list_id=pick_list_id))


def _walk_page(pick_list: PickList, status: int = 200, **values: Any) -> tuple[str, int]:
    pick = picking.next_pick(pick_list)
    values.setdefault("step", "location")
    return floor_page(
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
    pick_list = picking.get_pick_list(db(), pick_list_id)
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

    def check() -> Answer:
        answer = scanned(raw)
        if step == "location":
            picking.expect_location(pick, str(answer.get("location") or answer["code"]))
            return {"kind": "pick", "step": "location", "pick": pick.id}
        if step == "item":
            if answer["kind"] != "product":
                raise picking.WrongScan(
                    f"{answer['code']} is not an item: scan the item of this stop.",
                    field="sku", code="wrong_item",
                )  # fmt: skip
            picking.expect_item(pick, answer["sku"])
            units = counted + scanning.units_of(answer)
            picking.expect_units(pick, units)
            return {"kind": "pick", "step": "item", "pick": pick.id, "counted": units}
        picking.confirm_pick(
            db(), _me(), pick_list.id, pick.id,
            location=pick.stock.location.code, sku=pick.order_line.product.sku,
            qty=counted, tote=str(answer.get("tote") or answer["code"]),
        )  # fmt: skip
        return {"kind": "pick", "step": "tote", "pick": pick.id, "picked": counted}

    outcome = act_on_scan("pick", raw, check)
    fresh = picking.get_pick_list(db(), pick_list.id)
    if outcome.refused is not None:
        return _walk_page(fresh, 422, step=step, counted=counted, error=refusal(outcome))
    answer = outcome.answer or {}
    if answer["step"] == "location":
        return _walk_page(fresh, step="item", counted=0, outcome="good")
    if answer["step"] == "item":
        units = answer["counted"]
        next_step = "tote" if units == pick.qty - pick.picked else "item"
        return _walk_page(fresh, step=next_step, counted=units, outcome="good")
    return _walk_page(fresh, outcome="good", notice=f"Picked {answer['picked']} into the tote.")


def _scan_tote_onto_cart(pick_list: PickList, slot: int, raw: str) -> tuple[str, int]:
    def put() -> Answer:
        answer = scanned(raw)
        if answer["kind"] != "tote":
            raise InvalidInput(f"{answer['code']} is not a tote.", field="tote", code="not_a_tote")
        picking.set_tote(db(), pick_list.id, _me(), slot, answer["tote"])
        return {"kind": "pick", "step": "cart", "slot": slot, "tote": answer["tote"]}

    outcome = act_on_scan("pick", raw, put)
    fresh = picking.get_pick_list(db(), pick_list.id)
    if outcome.refused is not None:
        return _walk_page(fresh, 422, error=refusal(outcome))
    return _walk_page(fresh, outcome="good")


def _short(pick_list: PickList) -> tuple[str, int]:
    pick = picking.next_pick(pick_list)
    if pick is None:
        return _walk_page(pick_list, 409, error="This list is done.")
    found = request.form.get("found", "")

    def declare() -> Answer:
        units = whole_number(found, "found", 0)
        added = picking.short_pick(
            db(), _me(), pick_list.id, pick.id, found=units,
            tote=picking.tote_of(pick_list, pick) or "",
        )  # fmt: skip
        return {"kind": "pick", "step": "short", "pick": pick.id, "found": units,
                "elsewhere": len(added)}  # fmt: skip

    outcome = act_on_scan("pick", f"short {pick.stock.location.code}", declare)
    fresh = picking.get_pick_list(db(), pick_list.id)
    if outcome.refused is not None:
        return _walk_page(fresh, 422, error=refusal(outcome))
    answer = outcome.answer or {}
    where = "from another bin" if answer["elsewhere"] else "no other bin has it"
    notice = f"Short pick noted; {pick.stock.location.code} will be counted; the rest: {where}."
    return _walk_page(fresh, outcome="good", notice=notice)


@bp.route("/pick/supervise")
@requires("picking.plan")
def supervise() -> tuple[str, int]:
    """Open lists and who holds them, bins to count, and each picker's figures today."""
    return _supervise_page()


def _supervise_page(status: int = 200, **values: Any) -> tuple[str, int]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return floor_page(
        "pick_supervise.html",
        status,
        pick_lists=picking.find_pick_lists(db()),
        count_tasks=picking.open_count_tasks(db()),
        pickers=picking.picker_figures(db(), today),
        **values,
    )


@bp.route("/pick/<int:pick_list_id>/release", methods=["POST"])
@requires("picking.plan")
def release(pick_list_id: int) -> BaseResponse | tuple[str, int]:
    """Release an abandoned list: its unpicked units are free for other lists."""
    try:
        picking.release_pick_list(db(), pick_list_id)
    except WarehouseError as refused:
        db().rollback()
        return _supervise_page(409, error=refused.message)
    return redirect(url_for("pick.supervise"))


bp.after_request(no_store)

"""The returns page of the handheld: scan the order (its barcode, or type its number), then
each returned item (a case code counts its units), then the bin it goes back to, or send it
to quarantine. Every scan is logged; a refused one changes nothing and plays the bad sound.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request

from warehouse import returns
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.pages.handheld import act_on_scan, page, scanned, whole_number
from warehouse.quantities import parse_units
from warehouse.scanning import Logged
from warehouse.web import config, current_user, db, requires, writes_late

bp = Blueprint("returns", __name__)

# An order number typed by hand (ids are 32-bit; longer digit strings are product barcodes).
TYPED_ORDER = re.compile(r"[0-9]{1,10}")


def _order_named(raw: str) -> int:
    """The order id of a scanned order barcode or a typed order number."""
    text = raw.strip()
    if TYPED_ORDER.fullmatch(text):
        return int(text)
    scan = scanned(raw)
    if scan.order is None:
        raise InvalidInput(
            f"{scan.code} is not an order: scan the order's barcode or type its number.",
            field="code",
            code="not_an_order",
        )
    return scan.order.id


def _page(status: int = 200, **values: Any) -> tuple[str, int]:
    return page("returns.html", status, quarantine=config().returns.quarantine, **values)


def _order_page(order_id: int, status: int = 200, **values: Any) -> tuple[str, int]:
    """The order's lines, shipped and returned, and the next scan: an item, or its bin."""
    try:
        order = returns.shipped_order(db(), order_id)
    except WarehouseError as refused:
        return _page(refused.status, step="order", error=refused.message)
    values.setdefault("step", "item")
    return _page(status, order=order, lines=returns.return_lines(db(), order), **values)


@bp.route("/returns", methods=["GET", "POST"])
@requires("returns.receive")
@writes_late
def return_items() -> tuple[str, int]:
    """Scan the order, then each returned item and the bin it goes back to (or quarantine)."""
    if request.method == "GET":
        if TYPED_ORDER.fullmatch(request.args.get("order", "")):
            return _order_page(int(request.args["order"]))
        return _page(step="order")
    if not request.form.get("order"):
        return _scan_order()
    try:
        order_id = whole_number(request.form.get("order"), "order", 1)
    except InvalidInput:
        return _page(422, step="order", error="The form is damaged: scan the order again.")
    if request.form.get("sku"):
        return _put_back(order_id)
    return _scan_item(order_id)


def _scan_order() -> tuple[str, int]:
    raw = request.form.get("code", "")

    def find() -> Logged:
        order = returns.shipped_order(db(), _order_named(raw))
        return {"kind": "return", "step": "order", "order": order.id}

    outcome = act_on_scan("returns", raw, find)
    if outcome.refused is not None:
        return _page(422, step="order", error=outcome.refused.message)
    return _order_page(int(outcome.answer_or_raise()["order"]), outcome="good")


def _scan_item(order_id: int) -> tuple[str, int]:
    raw = request.form.get("code", "")

    def check() -> Logged:
        scan = scanned(raw)
        if scan.order is not None:
            order = returns.shipped_order(db(), scan.order.id)
            return {"kind": "return", "step": "order", "order": order.id}
        if scan.kind == "location":
            raise InvalidInput(
                "Scan the returned item first, then its bin.", field="code", code="item_first"
            )
        if scan.kind != "product" or scan.sku is None:
            raise returns.NotShippedItem(
                f"{scan.code} is not an item this warehouse knows: put it aside.",
                field="sku",
            )
        units = scan.units_scanned
        order = returns.shipped_order(db(), order_id)
        returns.returnable(db(), order, scan.sku, units)
        return {"kind": "return", "step": "item", "order": order_id, "sku": scan.sku,
                "name": scan.name or "", "units": units}  # fmt: skip

    outcome = act_on_scan("returns", raw, check)
    if outcome.refused is not None:
        return _order_page(order_id, 422, error=outcome.refused.message)
    done = outcome.answer_or_raise()
    if done["step"] == "order":
        return _order_page(int(done["order"]), outcome="good")
    item = {"sku": done["sku"], "name": done["name"]}
    return _order_page(order_id, step="place", item=item, qty=done["units"], outcome="good")


def _put_back(order_id: int) -> tuple[str, int]:
    """Book the item at the scanned bin, or at quarantine when the button was pressed instead."""
    form = request.form
    sku, code = form.get("sku", ""), form.get("code", "").strip()
    item = {"sku": sku, "name": form.get("name", "")}
    kept = {"step": "place", "item": item, "qty": form.get("qty", ""),
            "reason": form.get("reason", "")}  # fmt: skip
    if not code and form.get("action") != "quarantine":
        return _order_page(order_id, 422, error="Scan the bin, or send the item to quarantine.",
                           **kept)  # fmt: skip

    def book() -> Logged:
        qty = parse_units(form.get("qty"), "qty")
        location = None
        if code:
            scan = scanned(code)
            if scan.location is None:
                raise InvalidInput(
                    f"{scan.code} is not a location: scan the bin, or send the item to quarantine.",
                    field="location",
                    code="not_a_location",
                )
            location = scan.location
        movement = returns.return_item(
            db(), current_user(), order_id, sku, qty, location,
            config().returns.quarantine, form.get("reason", ""),
        )  # fmt: skip
        return {"kind": "return", "step": "returned", "order": order_id, "sku": sku,
                "qty": qty, "location": movement.location.code,
                "quarantine": location is None}  # fmt: skip

    outcome = act_on_scan("returns", code or f"return {sku} to quarantine", book)
    if outcome.refused is not None:
        return _order_page(order_id, 422, error=outcome.refused.message, **kept)
    done = outcome.answer_or_raise()
    where = f"quarantine ({done['location']})" if done["quarantine"] else done["location"]
    return _order_page(
        order_id, outcome="good", notice=f"Returned {done['qty']} of {done['sku']} to {where}."
    )
